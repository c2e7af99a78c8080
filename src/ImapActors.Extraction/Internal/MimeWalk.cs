using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using MimeKit;
using MimeKit.Cryptography;
using MimeKit.Tnef;

namespace ImapActors.Extraction.Internal;

/// <summary>The MIME walk: visits every part in order and hands it to the body texts, Email Artifacts or attachments.</summary>
internal sealed class MimeWalk(MessageContext context, BodyTexts bodies, EmailArtifacts emails, Attachments attachments)
{
    /// <summary>A part or message to visit; <paramref name="Placeholder"/>: the headers of a message/external-body, whose body is not content.</summary>
    private readonly record struct Node(MimeEntity? Entity, MimeMessage? Message, int Depth, bool IsRoot, bool Placeholder = false);

    /// <summary>
    /// Depth-first, pre-order, attached messages included, as Python's <c>Message.walk()</c>, so that parts are met,
    /// numbered and named in the order the reference connector gives them.
    /// </summary>
    public void Walk(MimeMessage root)
    {
        var limits = context.Limits;
        bodies.Expect(root.BodyParts.Take(limits.MaxParts).Count(p => p is MimePart part && IsTextual(part)));
        var stack = new Stack<Node>();
        stack.Push(new Node(null, root, 0, true));
        var index = -1;
        while (stack.Count > 0)
        {
            context.Budget.CheckTime();
            var node = stack.Pop();
            index++;
            if (index >= limits.MaxParts)
            {
                context.AddIssue(IssueCodes.PartLimit, $"more than {limits.MaxParts} MIME parts; the rest was not extracted");
                return;
            }

            if (node.Depth > limits.MaxMimeDepth)
            {
                context.AddIssue(IssueCodes.MimeDepthLimit, $"MIME parts nested deeper than {limits.MaxMimeDepth} were not extracted");
                continue;
            }

            try
            {
                Visit(node, index, stack);
            }
            catch (LimitReachedException)
            {
                throw;
            }
            catch (Exception e) when (!Failures.IsStorage(e))
            {
                context.AddIssue(IssueCodes.PartFailed, $"part {index}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Visit(Node node, int index, Stack<Node> stack)
    {
        if (node.Message is { } message)
        {
            emails.Add(HeaderDictionary.Fields(message.Headers), node.IsRoot, message.Body);
            if (node.Placeholder)
            {
                // message/external-body: the file lives elsewhere; what follows these headers is a phantom body
                // (RFC 2046 5.2.3) that holds none of it, so it is neither vaulted nor read.
                return;
            }

            switch (message.Body)
            {
                case null:
                    return;
                case Multipart multipart:
                    PushChildren(multipart, node.Depth + 1, stack);
                    return;
                case MessagePart { Message: { } inner }:
                    stack.Push(new Node(null, inner, node.Depth + 1, false));
                    return;
                case MimePart part when node.IsRoot:
                    RootSinglePart(part, index, stack, node.Depth);
                    return;
                case MimePart part:
                    Leaf(part, index, stack, node.Depth);
                    return;
                default:
                    return;
            }
        }

        var entity = node.Entity!;
        if (HeaderDictionary.HasArtifactHeader(entity.Headers))
        {
            emails.Add(HeaderDictionary.Fields(entity.Headers), false, null);
        }

        switch (entity)
        {
            case Multipart multipart:
                PushChildren(multipart, node.Depth + 1, stack);
                break;
            case TextRfc822Headers headers:
                // text/rfc822-headers (bounces) is text to the reference: scanned, and its header block an inline forward.
                bodies.Headers(headers);
                break;
            case MessagePart messagePart:
                if (messagePart.Message is { } inner)
                {
                    stack.Push(new Node(null, inner, node.Depth + 1, false, IsExternalBody(messagePart.ContentType)));
                }

                break;
            case MimePart part:
                Leaf(part, index, stack, node.Depth);
                break;
        }
    }

    private void PushChildren(Multipart multipart, int depth, Stack<Node> stack)
    {
        if (multipart.Count == 0 && !string.IsNullOrWhiteSpace(multipart.Preamble))
        {
            // A multipart whose boundary never occurs: Python sees its content as one text body, and so does a reader.
            bodies.Text(multipart.Preamble);
        }

        for (var i = multipart.Count - 1; i >= 0; i--)
        {
            stack.Push(new Node(multipart[i], null, depth, false));
        }
    }

    /// <summary>
    /// Opaque-signed S/MIME: the signed entity is inside the blob, readable without any key. The blob stays a Vault
    /// Artifact, as the reference keeps it, and what it signs is walked like any part. False for any other part.
    /// </summary>
    private bool SignedData(MimePart part, int index, Stack<Node> stack, int depth)
    {
        if (part is not ApplicationPkcs7Mime { SecureMimeType: SecureMimeType.SignedData or SecureMimeType.Unknown } pkcs7)
        {
            return false;
        }

        attachments.Add(part, index);
        if (OpenSignedData(pkcs7) is { } signed)
        {
            stack.Push(new Node(signed, null, depth + 1, false));
        }

        return true;
    }

    /// <summary>A message that is a single part: text is its body; anything else is its attachment.</summary>
    private void RootSinglePart(MimePart part, int index, Stack<Node> stack, int depth)
    {
        if (SignedData(part, index, stack, depth))
        {
            return;
        }

        if (part is TnefPart || !IsTextual(part))
        {
            attachments.Add(part, index);
        }
        else
        {
            bodies.Part(part);
        }
    }

    /// <summary>
    /// The reference connector's rules for telling bodies from attachments, with two corrections: a non-text part
    /// without Content-Disposition (an inline image) is an attachment, not text; an inline text part with a file name
    /// is both vaulted and scanned.
    /// </summary>
    private void Leaf(MimePart part, int index, Stack<Node> stack, int depth)
    {
        if (IsExternalBody(part.ContentType))
        {
            // A placeholder MimeKit did not read as a message (an encoded one): it holds no content either.
            return;
        }

        var type = part.ContentType;
        if (IsEncodedMessage(part))
        {
            // message/rfc822 sent base64 or quoted-printable encoded: decode it and walk the message inside.
            var inner = ParseEncodedMessage(part);
            if (inner is not null)
            {
                stack.Push(new Node(null, inner, depth + 1, false));
            }

            return;
        }

        if (SignedData(part, index, stack, depth))
        {
            return;
        }

        var disposition = part.Headers[HeaderId.ContentDisposition];
        var textual = IsTextual(part);
        if (disposition is null)
        {
            if (textual && part is not TnefPart)
            {
                bodies.Part(part);
            }
            else
            {
                attachments.Add(part, index);
            }

            return;
        }

        var inline = part.ContentDisposition?.Disposition.Equals(ContentDisposition.Inline, StringComparison.OrdinalIgnoreCase) == true;
        var plainOrHtml = type.IsMimeType("text", "plain") || type.IsMimeType("text", "html") || IsBrokenTextType(part);
        if (inline && plainOrHtml && disposition.Trim().Equals("inline", StringComparison.OrdinalIgnoreCase))
        {
            bodies.Part(part);
            return;
        }

        attachments.Add(part, index);
        if (inline && textual)
        {
            bodies.Part(part);
        }
    }

    private static bool IsTextual(MimePart part)
    {
        var type = part.ContentType;
        if (type.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase) || IsBrokenTextType(part))
        {
            return true;
        }

        // Reports (delivery-status, disposition-notification, feedback-report) and headers are text too.
        return type.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
            !type.MediaSubtype.Equals("partial", StringComparison.OrdinalIgnoreCase) &&
            !type.MediaSubtype.Equals("external-body", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsExternalBody(ContentType type) =>
        type.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
        type.MediaSubtype.Equals("external-body", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the Content-Type is <c>text</c> without a subtype, or with one that does not parse (<c>text/</c>,
    /// <c>text/@@</c>): MimeKit then falls back to <c>application/octet-stream</c>, but the part is text/plain, as
    /// Python reads it (RFC 2045 5.2 makes an unusable Content-Type text/plain).
    /// </summary>
    private static bool IsBrokenTextType(MimePart part)
    {
        if (part.ContentType.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase) || part.Headers[HeaderId.ContentType] is not { } raw)
        {
            return false;
        }

        var value = raw.AsSpan().TrimStart();
        var end = value.IndexOfAny('/', ';');
        return (end < 0 ? value : value[..end]).Trim().Equals("text", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsEncodedMessage(MimePart part) =>
        part.ContentType.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
        (part.ContentType.MediaSubtype.Equals("rfc822", StringComparison.OrdinalIgnoreCase) ||
         part.ContentType.MediaSubtype.Equals("global", StringComparison.OrdinalIgnoreCase)) &&
        part.Content is not null;

    /// <summary>
    /// The entity an opaque-signed S/MIME part signs, or null when the part is not signed-data (an encrypted one, whose
    /// smime-type was left out) or is larger than <c>MaxBufferedPartBytes</c> (it is decoded whole). The signature is
    /// not verified: the content is read for its indicators, not trusted.
    /// </summary>
    private MimeEntity? OpenSignedData(ApplicationPkcs7Mime part)
    {
        var limit = context.Limits.MaxBufferedPartBytes;
        if (part.Content is null)
        {
            return null;
        }

        byte[] blob;
        using (var content = new MeteredStream(PartContent.OpenDecoded(part), context.Budget))
        {
            var buffer = PartContent.ReadCapped(content, limit, out var length, out var truncated);
            blob = truncated ? [] : buffer.AsSpan(0, length).ToArray();
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            if (truncated)
            {
                context.AddIssue(IssueCodes.BufferedPartLimit, $"an S/MIME signed part larger than {limit} bytes was stored but not opened");
                return null;
            }
        }

        byte[] signed;
        try
        {
            var cms = new SignedCms();
            cms.Decode(blob);
            signed = cms.ContentInfo.Content;
        }
        catch (CryptographicException e)
        {
            if (part.SecureMimeType == SecureMimeType.SignedData)
            {
                context.AddIssue(IssueCodes.PartFailed, $"an S/MIME signed part could not be opened: {e.Message}");
            }

            return null;
        }

        if (signed.Length == 0)
        {
            // Certificates only (a .p7c): nothing is signed.
            return null;
        }

        var spool = new SpoolStream();
        context.Resources.Add(spool);
        spool.Write(signed);
        var message = ParseSpooled(spool);
        if (message is not null)
        {
            context.Resources.Add(message);
        }

        // The signed bytes are one entity (its Content-* fields, then its content): parsed as a message, that entity is the body.
        return message?.Body;
    }

    /// <summary>A spooled message parsed through the guard; the guard's cut copy, if any, lives until the extraction ends.</summary>
    private MimeMessage? ParseSpooled(SpoolStream spool)
    {
        var (input, message, issues) = EmailProcessor.GuardedParse(spool, 0, GuardLimits.From(context.Limits), context.Budget);
        if (input != spool)
        {
            context.Resources.Add(input);
        }

        foreach (var issue in issues)
        {
            context.AddIssue(issue.Code, issue.Detail);
        }

        return message;
    }

    /// <summary>
    /// The attached message decoded into a spool (memory, then a temporary file past 16 MiB) and parsed through the
    /// guard like the message itself; the spool lives until the extraction ends.
    /// </summary>
    private MimeMessage? ParseEncodedMessage(MimePart part)
    {
        var spool = new SpoolStream();
        context.Resources.Add(spool);
        using (var content = new MeteredStream(part.Content!.Open(), context.Budget))
        {
            content.CopyTo(spool);
        }

        var message = ParseSpooled(spool);
        if (message is null)
        {
            context.AddIssue(IssueCodes.PartFailed, "an attached message could not be parsed");
        }

        return message;
    }
}
