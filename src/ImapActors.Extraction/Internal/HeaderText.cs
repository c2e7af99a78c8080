using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;
using MimeKit;
using MimeKit.Utils;

namespace ImapActors.Extraction.Internal;

/// <summary>Header values as the reference sees them: raw (folding and encoded words kept) or RFC 2047-decoded.</summary>
internal static class HeaderText
{
    /// <summary>A Latin-1 decoder: every byte maps to one character, so nothing is lost.</summary>
    internal static readonly Encoding Latin1 = Encoding.Latin1;

    /// <summary>
    /// The value as Python's compat32 parser keeps it: leading blanks and the final line break removed, folding kept.
    /// Bytes are UTF-8 when they are valid UTF-8, Latin-1 otherwise (the reference does the same for the whole message).
    /// </summary>
    public static string Raw(Header header)
    {
        var (start, length) = TrimmedRange(header.RawValue);
        return BytesToString(header.RawValue.AsSpan(start, length));
    }

    /// <summary>Where the value lies in <see cref="Header.RawValue"/>: after leading blanks, before the final line breaks.</summary>
    internal static (int Start, int Length) TrimmedRange(byte[] raw)
    {
        var start = 0;
        var end = raw.Length;
        while (start < end && raw[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        while (end > start && raw[end - 1] is (byte)'\r' or (byte)'\n')
        {
            end--;
        }

        return (start, end - start);
    }

    public static string BytesToString(ReadOnlySpan<byte> bytes) => TryUtf8(bytes, out var text) ? text : Latin1.GetString(bytes);

    /// <summary>The text when the bytes are well-formed UTF-8 (checked first, so that bad bytes cost no exception).</summary>
    public static bool TryUtf8(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out string? text)
    {
        text = Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;
        return text is not null;
    }

    /// <summary>Encoded words decoded; plain text, addresses and folding kept.</summary>
    public static string Decoded(Header header)
    {
        var (start, length) = TrimmedRange(header.RawValue);
        return DecodeWords(header.RawValue, start, length);
    }

    public static string Decoded(string raw)
    {
        if (!raw.Contains("=?", StringComparison.Ordinal))
        {
            return raw;
        }

        var bytes = Encoding.UTF8.GetBytes(raw);
        return DecodeWords(bytes, 0, bytes.Length);
    }

    /// <summary>A value longer than this, with a "=?" that starts no encoded word, is decoded by <see cref="DecodeWords"/> in runs.</summary>
    internal const int LongValue = 16 * 1024;

    /// <summary>
    /// MimeKit's RFC 2047 decoder, except for a long value holding a "=?" that starts no encoded word: the decoder looks
    /// for the end of every such "=?" up to the end of its input, so a value of many costs time in its square (256 KiB of
    /// them took 2.8 s). Such a value is cut into runs of encoded words (decoded by MimeKit, which joins adjacent words
    /// as RFC 2047 says) and the text between them (taken as it is, UTF-8 when valid, else Latin-1, as for a header
    /// without encoded words). Any other value is decoded whole, as before.
    /// </summary>
    internal static string DecodeWords(byte[] raw, int start, int length)
    {
        if (length <= LongValue || !HasBrokenWord(raw, start, start + length))
        {
            return Rfc2047.DecodeText(raw, start, length);
        }

        var sb = new StringBuilder(length);
        var end = start + length;
        var text = start;
        var i = start;
        while (i < end)
        {
            var open = raw.AsSpan(i, end - i).IndexOf("=?"u8);
            if (open < 0)
            {
                break;
            }

            open += i;
            if (!IsEncodedWord(raw, open, end, out var wordEnd))
            {
                i = wordEnd;
                continue;
            }

            // A run: this word and every word after it that only blanks separate from it.
            var runEnd = wordEnd;
            var next = SkipBlanks(raw, runEnd, end);
            while (next < end && IsEncodedWord(raw, next, end, out var nextEnd))
            {
                runEnd = nextEnd;
                next = SkipBlanks(raw, runEnd, end);
            }

            sb.Append(BytesToString(raw.AsSpan(text, open - text)));
            sb.Append(Rfc2047.DecodeText(raw, open, runEnd - open));
            text = i = runEnd;
        }

        sb.Append(BytesToString(raw.AsSpan(text, end - text)));
        return sb.ToString();
    }

    private static int SkipBlanks(byte[] raw, int i, int end)
    {
        while (i < end && raw[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            i++;
        }

        return i;
    }

    /// <summary>Whether the value holds a "=?" that starts no encoded word (linear: each "=?" is looked at up to the next blank).</summary>
    private static bool HasBrokenWord(byte[] raw, int start, int end)
    {
        var i = start;
        while (i < end)
        {
            var open = raw.AsSpan(i, end - i).IndexOf("=?"u8);
            if (open < 0)
            {
                return false;
            }

            open += i;
            if (!IsEncodedWord(raw, open, end, out var next))
            {
                return true;
            }

            i = next;
        }

        return false;
    }

    /// <summary>
    /// Whether an encoded word <c>=?charset?B|Q?text?=</c> (no blank in it, as RFC 2047 has it) starts at
    /// <paramref name="at"/>. <paramref name="next"/> is just after its "?=", or else where to look for the next "=?":
    /// past the text that was scanned when no "?=" ends it before a blank (no "=?" in that text can start a word
    /// either), so that a value is scanned in linear time whatever it holds.
    /// </summary>
    private static bool IsEncodedWord(byte[] raw, int at, int end, out int next)
    {
        next = at + 2;
        if (at + 2 > end || raw[at] != '=' || raw[at + 1] != '?')
        {
            return false;
        }

        // The charset ends at the first '?', before any later "=?", so a failure here costs only the bytes up to it.
        var i = at + 2;
        var charset = i;
        while (i < end && raw[i] != '?' && raw[i] > ' ')
        {
            i++;
        }

        if (i == charset || i + 2 >= end || raw[i] != '?' || raw[i + 1] is not ((byte)'B' or (byte)'b' or (byte)'Q' or (byte)'q') || raw[i + 2] != '?')
        {
            return false;
        }

        i += 3;
        while (i + 1 < end && raw[i] > ' ')
        {
            if (raw[i] == '?' && raw[i + 1] == '=')
            {
                next = i + 2;
                return true;
            }

            i++;
        }

        next = Math.Max(at + 2, i);
        return false;
    }

    /// <summary>Removes folding (a line break followed by a blank), keeping the blank, as RFC 5322 unfolding does.</summary>
    public static string Unfold(string value)
    {
        if (value.IndexOfAny(['\r', '\n']) < 0)
        {
            return value;
        }

        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is not ('\r' or '\n'))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
