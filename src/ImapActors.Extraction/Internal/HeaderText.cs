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
        return Rfc2047.DecodeText(header.RawValue, start, length);
    }

    public static string Decoded(string raw) =>
        raw.Contains("=?", StringComparison.Ordinal) ? Rfc2047.DecodeText(Encoding.UTF8.GetBytes(raw)) : raw;

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
