using System.Buffers;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>A message's body texts: read within the scan budget, decoded, and each distinct text scanned once.</summary>
internal sealed class BodyTexts(MessageContext context, Indicators indicators, EmailArtifacts emails)
{
    private readonly HashSet<string> _scannedTexts = new(StringComparer.Ordinal);

    /// <summary>A text part: its decoded text, as far as the budget allows, scanned.</summary>
    public void Part(MimePart part)
    {
        var text = ReadText(part);
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        Text(text);
    }

    /// <summary>A text already decoded, cut to what may still be scanned, then scanned.</summary>
    public void Text(string text)
    {
        var budget = context.Budget;
        if (text.Length > budget.ScannedTextLeft)
        {
            context.AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {context.Limits.MaxScannedTextBytes} bytes was not scanned");
            text = text[..(int)Math.Max(0, budget.ScannedTextLeft)];
        }

        budget.ScannedTextLeft -= text.Length;
        Scan(text);
    }

    /// <summary>A text/rfc822-headers part (as bounces carry): its header block is text, scanned like a body.</summary>
    public void Headers(TextRfc822Headers part)
    {
        if (part.Message is null)
        {
            return;
        }

        var buffer = new MemoryStream();
        part.Message.WriteTo(buffer);
        var budget = context.Budget;
        var length = (int)Math.Min(buffer.Length, Math.Max(0, budget.ScannedTextLeft));
        budget.ScannedTextLeft -= length;
        var text = TextDecoding.Decode(buffer.GetBuffer().AsSpan(0, length), null);
        if (text.Length > 0)
        {
            Scan(text);
        }
    }

    /// <summary>
    /// Indicators and an inline forward from a body's text. Every addition they make is idempotent, so a text identical
    /// to one already scanned in this message (the same part repeated, as in some hostile messages) is skipped.
    /// </summary>
    private void Scan(string text)
    {
        if (_scannedTexts.Add(text))
        {
            indicators.Scan(text);
            if (InlineForward.HeaderFields(text) is { Count: > 0 } fields)
            {
                emails.Add(fields, true, null);
            }
        }
    }

    private string? ReadText(MimePart part)
    {
        if (part.Content is null)
        {
            return null;
        }

        var budget = context.Budget;
        var cap = budget.ScannedTextLeft;
        if (cap <= 0)
        {
            context.AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {context.Limits.MaxScannedTextBytes} bytes was not scanned");
            return null;
        }

        if (ReadPlainBase64(part, cap) is { } text)
        {
            return text;
        }

        using var content = new MeteredStream(PartContent.Open(part), budget);
        var buffer = PartContent.ReadCapped(content, cap, out var length, out var truncated);
        try
        {
            budget.ScannedTextLeft -= length;
            if (truncated)
            {
                context.AddIssue(IssueCodes.ScannedTextLimit, $"body text beyond {context.Limits.MaxScannedTextBytes} bytes was not scanned");
            }

            return TextDecoding.Decode(buffer.AsSpan(0, length), part.ContentType.Charset);
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
        using var decoder = PartContent.OpenBase64(part);
        if (decoder is null)
        {
            return null;
        }

        var buffer = PartContent.ReadCapped(decoder, cap, out var length, out var truncated);
        try
        {
            if (truncated || !decoder.DecodedPlainInput)
            {
                return null;
            }

            var budget = context.Budget;
            budget.CheckTime();
            if (length > 0)
            {
                budget.Spend(length);
            }

            budget.ScannedTextLeft -= length;
            return TextDecoding.Decode(buffer.AsSpan(0, length), part.ContentType.Charset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
