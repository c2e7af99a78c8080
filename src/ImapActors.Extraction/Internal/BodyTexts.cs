using System.Buffers;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>A message's body texts: read within the scan budget, decoded, and each distinct text scanned once.</summary>
/// <remarks>
/// The scan budget (<c>ExtractionLimits.MaxScannedTextBytes</c>) is charged once per text, by what is read of it. A text
/// may use what is left except <see cref="FloorPerText"/> for each text part still to come (<see cref="Expect"/>), and
/// every text gets at least its first <see cref="FloorPerText"/> bytes, so one long text (a filler part) cannot use up
/// the budget of the texts after it, and the beginning of each is scanned; a message of one long body uses it all.
/// </remarks>
internal sealed class BodyTexts(MessageContext context, Indicators indicators, EmailArtifacts emails)
{
    /// <summary>What every text is scanned for at least, whatever is left of the budget.</summary>
    internal const int FloorPerText = 64 * 1024;

    private readonly HashSet<string> _scannedTexts = new(StringComparer.Ordinal);

    // The text parts the message holds that have not been read yet (texts found later, in attached messages, count as one).
    private long _textsToCome = 1;

    /// <summary>Sets how many text parts the message holds, before the first is read.</summary>
    public void Expect(int texts) => _textsToCome = Math.Max(1, texts);

    /// <summary>What the next text may be read for: what is left less a floor for each text to come, and never less than the floor.</summary>
    private long Allowance()
    {
        var others = Math.Max(0, _textsToCome - 1);
        _textsToCome = Math.Max(1, _textsToCome - 1);
        return Math.Max(context.Budget.ScannedTextLeft - (others * FloorPerText), FloorPerText);
    }

    /// <summary>Charges what was read of a text, and notes when the text was cut.</summary>
    private void Charge(long length, bool cut)
    {
        var budget = context.Budget;
        budget.ScannedTextLeft = Math.Max(0, budget.ScannedTextLeft - length);
        if (cut)
        {
            context.AddIssue(IssueCodes.ScannedTextLimit,
                $"a body text was scanned for its first {length} bytes only (scan budget {context.Limits.MaxScannedTextBytes} bytes)");
        }
    }

    /// <summary>A text part: its decoded text, as far as the budget allows (charged as it is read), scanned.</summary>
    public void Part(MimePart part)
    {
        var text = ReadText(part);
        if (!string.IsNullOrEmpty(text))
        {
            Scan(text);
        }
    }

    /// <summary>A text already decoded, cut to what may still be scanned, then scanned.</summary>
    public void Text(string text)
    {
        var allowance = Allowance();
        var cut = text.Length > allowance;
        if (cut)
        {
            text = text[..(int)allowance];
        }

        Charge(text.Length, cut);
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
        var length = (int)Math.Min(buffer.Length, Allowance());
        Charge(length, length < buffer.Length);
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
        var cap = Allowance();
        if (ReadPlainBase64(part, cap) is { } text)
        {
            return text;
        }

        using var content = new MeteredStream(PartContent.Open(part), budget);
        var buffer = PartContent.ReadCapped(content, cap, out var length, out var truncated);
        try
        {
            Charge(length, truncated);
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

            Charge(length, false);
            return TextDecoding.Decode(buffer.AsSpan(0, length), part.ContentType.Charset);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
