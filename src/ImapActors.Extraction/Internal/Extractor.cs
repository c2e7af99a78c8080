using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using MimeKit;
using MimeKit.Tnef;

namespace ImapActors.Extraction.Internal;

/// <summary>Stage 2 for one message: the MIME walk, the artifacts and the vault writes. One instance per message.</summary>
internal sealed class Extractor
{
    private const string EmailArtifactName = "Email Artifact";
    private const string VaultArtifactName = "Vault Artifact";
    internal const string StatusArtifactName = "Email Ingestion Status";

    private static readonly SearchValues<string> ForwardedMessage = SearchValues.Create(["forwarded message"], StringComparison.OrdinalIgnoreCase);

    private readonly IVault _vault;
    private readonly ExtractionSettings _settings;
    private readonly ParsedEmail _parsed;
    private readonly Budget _budget;
    private readonly List<IngestionIssue> _issues = [];
    private readonly HashSet<string> _issueCodes = [];
    private readonly OrderedSet _ips = new();
    private readonly OrderedSet _hashes = new();
    private readonly OrderedSet _urls = new();
    private readonly OrderedSet _domains = new();
    private readonly HashSet<string> _urlCandidates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _scannedTexts = new(StringComparer.Ordinal);
    private readonly List<Artifact> _emails = [];
    private readonly List<Artifact> _vaultArtifacts = [];
    private readonly List<VaultFile> _vaultFiles = [];
    private readonly HashSet<string> _sdis = [];
    private readonly List<string> _failedAttachments = [];
    private int _artifactCount;
    private int _partCount;

    public Extractor(IVault vault, ParsedEmail parsed, ExtractionSettings settings)
    {
        _vault = vault;
        _parsed = parsed;
        _settings = settings;
        var limits = settings.Limits;
        _budget = new Budget(limits.MaxDecodedBytes, limits.MaxScannedTextBytes, limits.MaxTime);
        foreach (var issue in parsed.Issues)
        {
            AddIssue(issue.Code, issue.Detail);
        }
    }

    private ExtractionLimits Limits => _settings.Limits;

    private uint Uid => _parsed.Source.Uid;

    public ProcessedEmail Run(string label)
    {
        var message = _parsed.Message;
        if (message is not null)
        {
            try
            {
                Walk(message);
            }
            catch (LimitReachedException e)
            {
                AddIssue(e.Code, e.Message);
            }
        }

        return Finish(message, label);
    }

    // ------------------------------------------------------------------ walk

    private readonly record struct Node(MimeEntity? Entity, MimeMessage? Message, int Depth, bool IsRoot);

    /// <summary>Depth-first, pre-order, attached messages included, as Python's <c>Message.walk()</c>.</summary>
    private void Walk(MimeMessage root)
    {
        var stack = new Stack<Node>();
        stack.Push(new Node(null, root, 0, true));
        var index = -1;
        while (stack.Count > 0)
        {
            _budget.CheckTime();
            var node = stack.Pop();
            index++;
            if (++_partCount > Limits.MaxParts)
            {
                AddIssue(IssueCodes.PartLimit, $"more than {Limits.MaxParts} MIME parts; the rest was not extracted");
                return;
            }

            if (node.Depth > Limits.MaxMimeDepth)
            {
                AddIssue(IssueCodes.MimeDepthLimit, $"MIME parts nested deeper than {Limits.MaxMimeDepth} were not extracted");
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
            catch (IOException)
            {
                throw;
            }
            catch (Exception e)
            {
                AddIssue(IssueCodes.PartFailed, $"part {index}: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Visit(Node node, int index, Stack<Node> stack)
    {
        if (node.Message is { } message)
        {
            EmailArtifact(Fields(message.Headers), node.IsRoot, message.Body);
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
                    RootSinglePart(part, index);
                    return;
                case MimePart part:
                    Leaf(part, index, stack, node.Depth);
                    return;
                default:
                    return;
            }
        }

        var entity = node.Entity!;
        if (HasArtifactHeader(entity.Headers))
        {
            EmailArtifact(Fields(entity.Headers), false, null);
        }
        switch (entity)
        {
            case Multipart multipart:
                PushChildren(multipart, node.Depth + 1, stack);
                break;
            case TextRfc822Headers headers:
                // text/rfc822-headers (bounces) is text to the reference: scanned, and its header block an inline forward.
                HeadersBody(headers);
                break;
            case MessagePart messagePart:
                if (messagePart.Message is { } inner)
                {
                    stack.Push(new Node(null, inner, node.Depth + 1, false));
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
            TextBody(multipart.Preamble);
        }

        for (var i = multipart.Count - 1; i >= 0; i--)
        {
            stack.Push(new Node(multipart[i], null, depth, false));
        }
    }

    /// <summary>A message that is a single part: text is its body; anything else is its attachment.</summary>
    private void RootSinglePart(MimePart part, int index)
    {
        if (part is TnefPart || !IsTextual(part))
        {
            Attachment(part, index);
        }
        else
        {
            Body(part);
        }
    }

    /// <summary>
    /// The reference's body/attachment rules (5.1) with two corrections: a non-text part without Content-Disposition
    /// (an inline image) is an attachment, not text; an inline text part with a file name is both vaulted and scanned.
    /// </summary>
    private void Leaf(MimePart part, int index, Stack<Node> stack, int depth)
    {
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

        var disposition = part.Headers[HeaderId.ContentDisposition];
        var textual = IsTextual(part);
        if (disposition is null)
        {
            if (textual && part is not TnefPart)
            {
                Body(part);
            }
            else
            {
                Attachment(part, index);
            }

            return;
        }

        var inline = part.ContentDisposition?.Disposition.Equals(ContentDisposition.Inline, StringComparison.OrdinalIgnoreCase) == true;
        var plainOrHtml = type.IsMimeType("text", "plain") || type.IsMimeType("text", "html");
        if (inline && plainOrHtml && disposition.Trim().Equals("inline", StringComparison.OrdinalIgnoreCase))
        {
            Body(part);
            return;
        }

        Attachment(part, index);
        if (inline && textual)
        {
            Body(part);
        }
    }

    private static bool IsTextual(MimePart part)
    {
        var type = part.ContentType;
        if (type.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Reports (delivery-status, disposition-notification, feedback-report) and headers are text too.
        return type.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
            !type.MediaSubtype.Equals("partial", StringComparison.OrdinalIgnoreCase) &&
            !type.MediaSubtype.Equals("external-body", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsEncodedMessage(MimePart part) =>
        part.ContentType.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase) &&
        (part.ContentType.MediaSubtype.Equals("rfc822", StringComparison.OrdinalIgnoreCase) ||
         part.ContentType.MediaSubtype.Equals("global", StringComparison.OrdinalIgnoreCase)) &&
        part.Content is not null;

    private MimeMessage? ParseEncodedMessage(MimePart part)
    {
        var buffer = new MemoryStream();
        using (var content = new MeteredStream(part.Content!.Open(), _budget))
        {
            content.CopyTo(buffer);
        }

        buffer.Position = 0;
        try
        {
            return new MimeParser(buffer, MimeFormat.Entity).ParseMessage();
        }
        catch (FormatException e)
        {
            AddIssue(IssueCodes.PartFailed, $"attached message could not be parsed: {e.Message}");
            return null;
        }
    }

    // ------------------------------------------------------------------ bodies and indicators

    private void Body(MimePart part)
    {
        var text = ReadText(part);
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        TextBody(text);
    }

    private void TextBody(string text)
    {
        if (text.Length > _budget.ScannedTextLeft)
        {
            AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {Limits.MaxScannedTextBytes} bytes was not scanned");
            text = text[..(int)Math.Max(0, _budget.ScannedTextLeft)];
        }

        _budget.ScannedTextLeft -= text.Length;
        ScanText(text);
    }

    /// <summary>
    /// Indicators and an inline forward from a body's text. Every addition they make is idempotent, so a text identical
    /// to one already scanned in this message (the same part repeated, as in some hostile messages) is skipped.
    /// </summary>
    private void ScanText(string text)
    {
        if (_scannedTexts.Add(text))
        {
            ScanIndicators(text);
            InlineForward(text);
        }
    }

    private void HeadersBody(TextRfc822Headers part)
    {
        if (part.Message is null)
        {
            return;
        }

        var buffer = new MemoryStream();
        part.Message.WriteTo(buffer);
        var length = (int)Math.Min(buffer.Length, Math.Max(0, _budget.ScannedTextLeft));
        _budget.ScannedTextLeft -= length;
        var text = DecodeText(buffer.GetBuffer().AsSpan(0, length), null);
        if (text.Length > 0)
        {
            ScanText(text);
        }
    }

    private string? ReadText(MimePart part)
    {
        if (part.Content is null)
        {
            return null;
        }

        var cap = _budget.ScannedTextLeft;
        if (cap <= 0)
        {
            AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {Limits.MaxScannedTextBytes} bytes was not scanned");
            return null;
        }

        if (ReadPlainBase64(part, cap) is { } text)
        {
            return text;
        }

        using var content = new MeteredStream(OpenContent(part), _budget);
        var buffer = ReadCapped(content, cap, out var length, out var truncated);
        try
        {
            _budget.ScannedTextLeft -= length;
            if (truncated)
            {
                AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {Limits.MaxScannedTextBytes} bytes was not scanned");
            }

            return DecodeText(buffer.AsSpan(0, length), part.ContentType.Charset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A base64 text part decoded by this library's decoder, for what it costs MimeKit's: only when the base64 is plain
    /// (so both decoders give the same bytes) and the text fits in <paramref name="cap"/>; null otherwise, nothing
    /// charged, and the caller reads the part as before. The budget is charged as the metered read would have been.
    /// </summary>
    private string? ReadPlainBase64(MimePart part, long cap)
    {
        using var decoder = OpenBase64(part);
        if (decoder is null)
        {
            return null;
        }

        var buffer = ReadCapped(decoder, cap, out var length, out var truncated);
        try
        {
            if (truncated || !decoder.DecodedPlainInput)
            {
                return null;
            }

            _budget.CheckTime();
            if (length > 0)
            {
                _budget.Spend(length);
            }

            _budget.ScannedTextLeft -= length;
            return DecodeText(buffer.AsSpan(0, length), part.ContentType.Charset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads 16 KiB at a time into one pooled buffer (returned to the caller, who gives it back to the pool), grown as
    /// needed; only the first <paramref name="cap"/> bytes are kept, and <paramref name="truncated"/> says there were more.
    /// </summary>
    private static byte[] ReadCapped(Stream content, long cap, out int length, out bool truncated)
    {
        const int chunk = 16384;
        var buffer = ArrayPool<byte>.Shared.Rent(chunk * 2);
        length = 0;
        truncated = false;
        try
        {
            while (true)
            {
                if (buffer.Length - length < chunk)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var n = content.Read(buffer, length, chunk);
                if (n <= 0)
                {
                    return buffer;
                }

                var take = (int)Math.Min(n, cap - length);
                length += take;
                if (take < n)
                {
                    truncated = true;
                    return buffer;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>The declared charset when it is known; UTF-8 when the bytes are valid UTF-8; Windows-1252 otherwise.</summary>
    internal static string DecodeText(ReadOnlySpan<byte> bytes, string? charset)
    {
        var declared = string.IsNullOrWhiteSpace(charset) ? null : Charset(charset);

        var asciiLike = declared is null || declared.CodePage is 20127 or 65001 or 28591 or 1252;
        if (asciiLike)
        {
            if (HeaderText.TryUtf8(bytes, out var utf8))
            {
                return utf8;
            }

            declared = declared is null or { CodePage: 20127 or 65001 } ? Windows1252 : declared;
        }

        return declared!.GetString(bytes);
    }

    private static readonly Encoding Windows1252 = GetWindows1252();

    /// <summary>Charset names already looked up (a few dozen in practice; unknown names are not kept once it is full).</summary>
    private static readonly ConcurrentDictionary<string, Encoding?> Charsets = new(StringComparer.Ordinal);

    private static Encoding? Charset(string name)
    {
        if (Charsets.TryGetValue(name, out var known))
        {
            return known;
        }

        Encoding? encoding;
        try
        {
            encoding = Encoding.GetEncoding(name.Trim().Trim('"'));
        }
        catch (ArgumentException)
        {
            encoding = null;
        }

        if (Charsets.Count < 256)
        {
            Charsets.TryAdd(name, encoding);
        }

        return encoding;
    }

    private static Encoding GetWindows1252()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding(1252);
    }

    // The scanners' callbacks, created on the message's first text rather than for each text scanned.
    private Action<string, bool>? _onHtmlLink;
    private Action<string>? _onUrl;
    private Action<string>? _onEmailDomain;
    private Action<string>? _onIp;
    private Action<string>? _onHash;

    private void ScanIndicators(string text)
    {
        var s = _settings;
        if (s.ExtractUrls || s.ExtractDomains)
        {
            if (text.Contains('<', StringComparison.Ordinal))
            {
                HtmlLinks.Find(text, _onHtmlLink ??= HtmlLink);
            }

            var plain = text.Contains('&', StringComparison.Ordinal) ? WebUtility.HtmlDecode(text) : text;
            Scanners.Urls(plain, _onUrl ??= UrlCandidate);
            if (s.ExtractDomains)
            {
                Scanners.EmailDomains(text, _onEmailDomain ??= AddDomain);
            }
        }

        if (s.ExtractIps)
        {
            _onIp ??= ip => Add(_ips, ip);
            Scanners.IPv4(text, _onIp);
            Scanners.IPv6(text, _onIp);
        }

        if (s.ExtractHashes)
        {
            Scanners.Hashes(text, _onHash ??= h => Add(_hashes, h));
        }
    }

    /// <summary>A link of an HTML text: a mailto: href gives its domain, anything else is a URL candidate.</summary>
    private void HtmlLink(string value, bool isHref)
    {
        if (isHref && value.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
        {
            MailtoDomain(value);
        }
        else
        {
            UrlCandidate(value.Trim());
        }
    }

    private void UrlCandidate(string url)
    {
        // What a candidate gives depends on the candidate alone, and adding it again changes nothing: a repeat (the same
        // link in every part, or in both href and text) skips the validation and the host's normalisation.
        if (!_urlCandidates.Add(url))
        {
            return;
        }

        if (!UrlRules.IsValid(url))
        {
            return;
        }

        if (_settings.ExtractUrls)
        {
            Add(_urls, url);
        }

        if (_settings.ExtractDomains && UrlRules.Host(url) is { } host && !UrlRules.IsIp(host))
        {
            AddDomain(host);
        }
    }

    private void MailtoDomain(string href)
    {
        if (!_settings.ExtractDomains)
        {
            return;
        }

        var at = href.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            return;
        }

        var domain = href[(at + 1)..];
        var q = domain.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            domain = domain[..q];
        }

        if (!UrlRules.IsIp(domain))
        {
            AddDomain(domain);
        }
    }

    private void AddDomain(string domain)
    {
        if (UrlRules.NormalizeDomain(domain) is { } d)
        {
            Add(_domains, d);
        }
    }

    private void Add(OrderedSet set, string value)
    {
        if (set.Contains(value))
        {
            return;
        }

        if (!CanAddArtifact())
        {
            return;
        }

        set.Add(value);
        _artifactCount++;
    }

    private bool CanAddArtifact()
    {
        if (_artifactCount < Limits.MaxArtifacts)
        {
            return true;
        }

        AddIssue(IssueCodes.ArtifactLimit, $"more than {Limits.MaxArtifacts} artifacts; the rest were dropped");
        return false;
    }

    // ------------------------------------------------------------------ e-mail artifacts

    private static List<(string Field, string Raw)> Fields(HeaderList headers)
    {
        var list = new List<(string, string)>(headers.Count);
        foreach (var h in headers)
        {
            list.Add((h.Field, HeaderText.Raw(h)));
        }

        return list;
    }

    /// <summary>
    /// The reference's header dictionary (5.2): raw values; a later duplicate replaces the value and the spelling;
    /// <c>Received</c> always a list; decodedSubject/To/From/CC. Headers whose names start with "body" are kept.
    /// </summary>
    internal static JsonObject HeaderDict(List<(string Field, string Raw)> fields)
    {
        // Built in place: a field whose name is already a key (ignoring case) replaces that member's name and value at
        // its position. Names are looked up linearly in an ordinary header block, through an index in a long one.
        var dict = new JsonObject();
        var index = fields.Count > LinearHeaderLookup ? new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase) : null;
        JsonArray? received = null;
        foreach (var (field, raw) in fields)
        {
            if (field.Equals("Received", StringComparison.OrdinalIgnoreCase))
            {
                if (received is null)
                {
                    received = [];
                    index?.Add("Received", dict.Count);
                    dict.Add("Received", received);
                }

                received.Add(raw);
                continue;
            }

            var at = IndexOfField(dict, index, field);
            if (at >= 0)
            {
                dict.SetAt(at, field, raw);
            }
            else
            {
                index?.Add(field, dict.Count);
                dict.Add(field, raw);
            }
        }

        AddDecoded(dict, index, "Subject", "decodedSubject");
        AddDecoded(dict, index, "To", "decodedTo");
        AddDecoded(dict, index, "From", "decodedFrom");
        AddDecoded(dict, index, "CC", "decodedCC");
        return dict;
    }

    /// <summary>Up to this many fields, <see cref="HeaderDict"/> finds a name by comparing it with each key.</summary>
    internal const int LinearHeaderLookup = 32;

    /// <summary>The position of the member named <paramref name="field"/> ignoring case, or -1.</summary>
    /// <remarks>
    /// <paramref name="index"/>, when there is one, holds the header names only. Without it the keys are scanned, which
    /// finds the same member: the only other keys, decodedSubject/To/From, never equal a header name looked up here.
    /// </remarks>
    private static int IndexOfField(JsonObject dict, Dictionary<string, int>? index, string field)
    {
        if (index is not null)
        {
            return index.TryGetValue(field, out var at) ? at : -1;
        }

        for (var i = 0; i < dict.Count; i++)
        {
            if (dict.GetAt(i).Key.Equals(field, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static void AddDecoded(JsonObject dict, Dictionary<string, int>? index, string header, string key)
    {
        if (IndexOfField(dict, index, header) is >= 0 and var at && dict.GetAt(at).Value is JsonValue v &&
            v.GetValue<string>() is { Length: > 0 } raw && !dict.ContainsKey(key))
        {
            dict[key] = HeaderText.Decoded(raw);
        }
    }

    /// <summary>Whether a header set has a From, To or Message-ID field, without which it gives no Email Artifact.</summary>
    private static bool HasArtifactHeader(HeaderList headers)
    {
        foreach (var h in headers)
        {
            if (h.Field.Equals("From", StringComparison.OrdinalIgnoreCase) || h.Field.Equals("To", StringComparison.OrdinalIgnoreCase) ||
                h.Field.Equals("Message-ID", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Lookup(List<(string Field, string Raw)> fields, string name)
    {
        string? value = null;
        foreach (var (field, raw) in fields)
        {
            if (field.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                value = raw;
            }
        }

        return value;
    }

    /// <summary>An Email Artifact for a header set with From, To or Message-ID (5.2); emailId is always an int.</summary>
    private void EmailArtifact(List<(string Field, string Raw)> fields, bool withEmailId, MimeEntity? body)
    {
        var from = Lookup(fields, "From");
        var to = Lookup(fields, "To");
        if (from is null && to is null && Lookup(fields, "Message-ID") is null)
        {
            return;
        }

        var cef = new JsonObject();
        if (!string.IsNullOrEmpty(from))
        {
            cef["fromEmail"] = from;
        }

        if (!string.IsNullOrEmpty(to))
        {
            cef["toEmail"] = to;
        }

        cef["emailHeaders"] = HeaderDict(fields);
        if (_settings.AddBodyToHeaderArtifacts && body is not null)
        {
            AddBodyParts(cef, body);
        }

        var types = new JsonObject { ["fromEmail"] = new JsonArray("email"), ["toEmail"] = new JsonArray("email") };
        if (withEmailId)
        {
            cef["emailId"] = JsonValue.Create((long)Uid);
            types["emailId"] = new JsonArray("imap email id");
        }

        var artifact = MakeArtifact(EmailArtifactName, cef, types);
        if (_sdis.Add(artifact.SourceDataIdentifier) && CanAddArtifact())
        {
            _emails.Add(artifact);
            _artifactCount++;
        }
    }

    /// <summary><c>bodyPart{i}</c> and <c>bodyPart{i}ContentType</c> for each leaf, breadth-first (5.2).</summary>
    private void AddBodyParts(JsonObject cef, MimeEntity body)
    {
        var queue = new Queue<MimeEntity>();
        queue.Enqueue(body);
        var i = 0;
        while (queue.Count > 0 && i < Limits.MaxParts)
        {
            var entity = queue.Dequeue();
            switch (entity)
            {
                case Multipart mp:
                    foreach (var child in mp)
                    {
                        queue.Enqueue(child);
                    }

                    continue;
                case MessagePart { Message.Body: { } inner }:
                    queue.Enqueue(inner);
                    continue;
                case MimePart part:
                    i++;
                    var key = $"bodyPart{i}";
                    cef[key] = BodyPartText(part, cef);
                    var ct = part.Headers[HeaderId.ContentType];
                    cef[key + "ContentType"] = ct is null ? null : (JsonNode)ct.Trim();
                    break;
            }
        }
    }

    private string? BodyPartText(MimePart part, JsonObject cef)
    {
        if (part.Content is null)
        {
            return string.Empty;
        }

        using var content = new MeteredStream(OpenContent(part), _budget);
        var buffer = new MemoryStream();
        content.CopyTo(buffer);
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (HeaderText.TryUtf8(bytes, out var utf8))
        {
            return utf8;
        }

        if (part is TextPart)
        {
            return DecodeText(bytes, part.ContentType.Charset);
        }

        cef["body_base64encoded"] = true;
        return Convert.ToBase64String(bytes);
    }

    /// <summary>
    /// A forwarded message pasted into a body (5.2): the first line naming "forwarded message" removed, then a header
    /// block at the very start of the remaining text becomes an Email Artifact with emailId.
    /// </summary>
    private void InlineForward(string text)
    {
        // A header block can only begin the text: its first 64 KiB (plus the marker line) are all that can matter.
        if (text.Length > 65536)
        {
            text = text[..65536];
        }

        var marker = text.AsSpan().IndexOfAny(ForwardedMessage);
        if (marker < 0 && !StartsWithFieldName(text))
        {
            return;
        }

        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        marker = text.AsSpan().IndexOfAny(ForwardedMessage);
        if (marker >= 0)
        {
            var lineStart = text.LastIndexOf('\n', marker) + 1;
            var lineEnd = text.IndexOf('\n', marker);
            if (lineEnd >= 0)
            {
                text = text[..lineStart] + text[(lineEnd + 1)..];
            }
        }

        text = text.Trim();
        var fields = ParseHeaderBlock(text);
        if (fields.Count > 0)
        {
            EmailArtifact(fields, true, null);
        }
    }

    /// <summary>
    /// Whether the text's first line after leading white space starts with <c>name:</c>, as
    /// <see cref="ParseHeaderBlock"/> needs to find a field in the trimmed text (line breaks cannot occur in a name).
    /// </summary>
    private static bool StartsWithFieldName(string text)
    {
        var span = text.AsSpan();
        var start = 0;
        while (start < span.Length && char.IsWhiteSpace(span[start]))
        {
            start++;
        }

        var line = span[start..];
        var nl = line.IndexOf('\n');
        if (nl >= 0)
        {
            line = line[..nl];
        }

        var colon = line.IndexOf(':');
        return colon >= 0 && IsFieldName(line[..colon]);
    }

    /// <summary>Python's feedparser header rules: <c>name:</c> lines and their continuation lines, up to the first other line.</summary>
    internal static List<(string Field, string Raw)> ParseHeaderBlock(string text)
    {
        var fields = new List<(string, string)>();
        var pos = 0;
        string? name = null;
        StringBuilder? value = null;
        while (pos < text.Length && fields.Count < 1000)
        {
            var nl = text.IndexOf('\n', pos);
            var line = nl < 0 ? text[pos..] : text[pos..(nl + 1)];
            var next = nl < 0 ? text.Length : nl + 1;
            if (line.Length > 0 && line[0] is ' ' or '\t')
            {
                if (name is null)
                {
                    break;
                }

                value!.Append(line);
                pos = next;
                continue;
            }

            if (name is not null)
            {
                fields.Add((name, value!.ToString().TrimEnd('\r', '\n')));
                name = null;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !IsFieldName(line.AsSpan(0, colon)))
            {
                break;
            }

            name = line[..colon];
            value = new StringBuilder(line[(colon + 1)..].TrimStart(' ', '\t'));
            pos = next;
        }

        if (name is not null)
        {
            fields.Add((name, value!.ToString().TrimEnd('\r', '\n')));
        }

        return fields;
    }

    private static bool IsFieldName(ReadOnlySpan<char> name)
    {
        foreach (var c in name)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    // ------------------------------------------------------------------ attachments

    private void Attachment(MimePart part, int index)
    {
        if (!_settings.ExtractAttachments)
        {
            return;
        }

        if (part is not TnefPart tnef)
        {
            Store(part, FileRules.OriginalName(part, index));
            return;
        }

        // The TNEF content is decoded once, for the vault and for the TNEF reader, when that gives the reader the bytes
        // MimeKit's own decoding would; otherwise the reader decodes the part itself, as MimeKit does.
        using var decoded = DecodeWhole(tnef);
        Store(part, FileRules.OriginalName(part, index), decoded);
        IEnumerable<MimeEntity> inside;
        try
        {
            if (decoded is null)
            {
                inside = tnef.ExtractAttachments().ToList();
            }
            else
            {
                using var copy = new TnefPart { Content = new MimeContent(decoded.View()) };
                if (!string.IsNullOrEmpty(tnef.ContentType.Charset))
                {
                    copy.ContentType.Charset = tnef.ContentType.Charset;
                }

                inside = copy.ExtractAttachments().ToList();
            }
        }
        catch (Exception e) when (e is not IOException)
        {
            AddIssue(IssueCodes.PartFailed, $"TNEF part {index} could not be unpacked: {e.Message}");
            return;
        }

        var k = 0;
        foreach (var entity in inside)
        {
            k++;
            if (entity is MimePart inner && !(inner is TextPart && inner.FileName is null))
            {
                Store(inner, FileRules.OriginalName(inner, index) is var n && n.StartsWith("part_", StringComparison.Ordinal) ? $"winmail-{k}{Path.GetExtension(n)}" : n);
            }
        }
    }

    /// <summary>
    /// The part's content decoded whole, or null when it could not be, or when it was base64 that is not plain
    /// (junk, an incomplete group, a second block): there this library's decoder and MimeKit's may differ.
    /// </summary>
    private static DecodedContent? DecodeWhole(MimePart part)
    {
        if (part.Content is null)
        {
            return null;
        }

        try
        {
            using var stream = OpenDecoded(part);
            var expected = part.Content.Stream is { CanSeek: true } encoded ? encoded.Length / 4 * 3 + 3 : 0;
            var buffer = new MemoryStream((int)Math.Min(expected, Array.MaxLength));
            stream.CopyTo(buffer);
            return stream is Base64Stream { DecodedPlainInput: false } ? null : new DecodedContent(buffer);
        }
        catch (Exception e) when (e is not (IOException or LimitReachedException))
        {
            return null;
        }
    }

    /// <summary>Decoded content held in memory; each <see cref="View"/> is an independent read-only stream over it.</summary>
    private sealed class DecodedContent(MemoryStream buffer) : IDisposable
    {
        public MemoryStream View() => new MemoryStream(buffer.GetBuffer(), 0, (int)buffer.Length, writable: false);

        public void Dispose() => buffer.Dispose();
    }

    private void Store(MimePart part, string originalName, DecodedContent? decoded = null)
    {
        if (part.Content is null)
        {
            return;
        }

        var name = FileRules.SafeName(originalName, _vaultArtifacts.Count + 1);
        VaultFile file;
        MeteredStream content;
        try
        {
            using (content = new MeteredStream(decoded?.View() ?? OpenDecoded(part), _budget))
            {
                file = _vault.Store(content, name);
            }
        }
        catch (LimitReachedException e)
        {
            _failedAttachments.Add(name);
            AddIssue(e.Code, $"{e.Message}; attachment \"{name}\" was not stored");
            if (e.Code == IssueCodes.TimeLimit)
            {
                throw;
            }

            return;
        }
        catch (IOException)
        {
            throw;
        }
        catch (Exception e)
        {
            _failedAttachments.Add(name);
            AddIssue(IssueCodes.AttachmentFailed, $"attachment \"{name}\" could not be stored: {e.Message}");
            return;
        }

        if (file.Size == 0)
        {
            return;
        }

        var contains = FileRules.Contains(name, content.Head);
        var cef = new JsonObject
        {
            ["headers"] = HeaderDict(Fields(part.Headers)),
            ["fileName"] = name,
            ["vaultId"] = file.VaultId.Value,
            ["cs6"] = file.VaultId.Value,
            ["cs6Label"] = "Vault ID",
            ["fileHashSha256"] = file.Sha256,
            ["fileHashMd5"] = file.Md5,
            ["fileHashSha1"] = file.VaultId.Value,
        };
        if (!string.Equals(name, originalName, StringComparison.Ordinal))
        {
            cef["originalFileName"] = originalName;
        }

        JsonObject? types = null;
        if (contains.Count > 0)
        {
            types = new JsonObject
            {
                ["vaultId"] = new JsonArray(contains.Select(c => (JsonNode?)c).ToArray()),
                ["cs6"] = new JsonArray(contains.Select(c => (JsonNode?)c).ToArray()),
            };
        }

        var artifact = MakeArtifact(VaultArtifactName, cef, types);
        if (_sdis.Add(artifact.SourceDataIdentifier) && CanAddArtifact())
        {
            _vaultArtifacts.Add(artifact);
            _vaultFiles.Add(file);
            _artifactCount++;
        }
    }

    private static Stream OpenDecoded(MimePart part) => OpenBase64(part) ?? OpenContent(part);

    /// <summary>
    /// The part's content decoded by MimeKit; content in an encoding MimeKit does not decode (7bit, 8bit, binary or an
    /// unknown name, for which <see cref="MimeContent.Open"/> adds a pass-through filter) is read straight from its
    /// stream, which gives the same bytes without the filter's buffer and copy.
    /// </summary>
    private static Stream OpenContent(MimePart part)
    {
        var content = part.Content!;
        if (content.Encoding is ContentEncoding.Base64 or ContentEncoding.QuotedPrintable or ContentEncoding.UUEncode ||
            content.Stream is not { CanSeek: true } raw)
        {
            return content.Open();
        }

        raw.Position = 0;
        return new MimeKit.IO.BoundStream(raw, 0, -1, leaveOpen: true);
    }

    /// <summary>This library's base64 decoder over the part's content, or null when it is not base64 or cannot seek.</summary>
    private static Base64Stream? OpenBase64(MimePart part)
    {
        var content = part.Content!;
        if (content.Encoding != ContentEncoding.Base64 || content.Stream is not { CanSeek: true } encoded)
        {
            return null;
        }

        encoded.Position = 0;
        return new Base64Stream(new MimeKit.IO.BoundStream(encoded, 0, -1, leaveOpen: true));
    }

    // ------------------------------------------------------------------ result

    private Artifact MakeArtifact(string name, JsonObject cef, JsonObject? cefTypes) =>
        new(name, cef, cefTypes, false, CanonicalJson.HashArtifact(name, cef, cefTypes, _settings.Fips));

    private ProcessedEmail Finish(MimeMessage? message, string label)
    {
        var artifacts = new List<Artifact>();
        foreach (var ip in _ips)
        {
            artifacts.Add(MakeArtifact("IP Artifact", new JsonObject { ["sourceAddress"] = ip }, null));
        }

        foreach (var h in _hashes)
        {
            artifacts.Add(MakeArtifact("Hash Artifact", new JsonObject { ["fileHash"] = h }, null));
        }

        foreach (var u in _urls)
        {
            artifacts.Add(MakeArtifact("URL Artifact", new JsonObject { ["requestURL"] = u }, null));
        }

        foreach (var d in _domains)
        {
            artifacts.Add(MakeArtifact("Domain Artifact", new JsonObject { ["destinationDnsDomain"] = d }, null));
        }

        artifacts.AddRange(_emails);
        artifacts.AddRange(_vaultArtifacts);
        if (_issues.Count > 0)
        {
            var cef = new JsonObject
            {
                ["ingestionStatus"] = "Completed with errors",
                ["ingestionIssues"] = new JsonArray(_issues.Select(i => (JsonNode?)$"{i.Code}: {i.Detail}").ToArray()),
            };
            if (_failedAttachments.Count > 0)
            {
                cef["attachmentIngestionStatus"] = "Completed with attachment errors";
            }

            artifacts.Add(MakeArtifact(StatusArtifactName, cef, null));
        }

        // 5.8: the last vault artifact starts the playbooks when there are files, otherwise the last artifact does.
        var trigger = _vaultArtifacts.Count > 0 ? artifacts.LastIndexOf(_vaultArtifacts[^1]) : artifacts.Count - 1;
        if (trigger >= 0)
        {
            artifacts[trigger] = artifacts[trigger] with { RunAutomation = true };
        }

        var source = _parsed.Source;
        var container = new EmailContainer
        {
            Name = ContainerName(message, source.Uid),
            SourceDataIdentifier = ContainerSdi(source.Folder.Value, source.Uid, _settings.Fips),
            Label = label,
            Source = source,
            MessageId = message?.MessageId,
            Date = message is not null && message.Headers.Contains(HeaderId.Date) ? message.Date : null,
            RawSha256 = _parsed.RawSha256,
            RawSize = _parsed.RawSize,
        };
        return new ProcessedEmail(container, artifacts, _vaultFiles, _issues.ToList());
    }

    internal static string ContainerName(MimeMessage? message, uint uid)
    {
        var subject = message?.Headers.FirstOrDefault(h => h.Id == HeaderId.Subject);
        if (subject is not null)
        {
            var name = HeaderText.Unfold(HeaderText.Decoded(subject)).TrimStart(' ', '\t');
            if (!string.IsNullOrWhiteSpace(name))
            {
                return name;
            }
        }

        return $"Email ID: {uid}";
    }

    internal static string ContainerSdi(string folder, uint uid, bool fips) => $"{FolderHash(folder, fips)} : {uid}";

    /// <summary>
    /// Folder hashes already computed: every message of a folder has the same one, and a process reads a few folders.
    /// Once the table is full, further folders are hashed each time.
    /// </summary>
    private static readonly ConcurrentDictionary<(string Folder, bool Fips), string> FolderHashes = new();

    private static string FolderHash(string folder, bool fips)
    {
        if (FolderHashes.TryGetValue((folder, fips), out var known))
        {
            return known;
        }

        var bytes = Encoding.UTF8.GetBytes(folder);
        var hash = fips ? Convert.ToHexStringLower(SHA256.HashData(bytes)) : Convert.ToHexStringLower(MD5.HashData(bytes));
        if (FolderHashes.Count < 1024)
        {
            FolderHashes.TryAdd((folder, fips), hash);
        }

        return hash;
    }

    private void AddIssue(string code, string detail)
    {
        // One issue per kind of problem: a message with 3,000 bad parts gives one line, not 3,000.
        if (_issueCodes.Add(code))
        {
            _issues.Add(new IngestionIssue(code, detail));
        }
    }

    /// <summary>Values in first-seen order, compared exactly.</summary>
    private sealed class OrderedSet : IEnumerable<string>
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly List<string> _items = [];

        public bool Contains(string value) => _seen.Contains(value);

        public void Add(string value)
        {
            if (_seen.Add(value))
            {
                _items.Add(value);
            }
        }

        public IEnumerator<string> GetEnumerator() => _items.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
