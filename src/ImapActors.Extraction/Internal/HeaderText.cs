using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace ImapActors.Extraction.Internal;

/// <summary>Header values as the reference sees them: raw (folding and encoded words kept) or RFC 2047-decoded.</summary>
internal static class HeaderText
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    /// <summary>A Latin-1 decoder: every byte maps to one character, so nothing is lost.</summary>
    internal static readonly Encoding Latin1 = Encoding.Latin1;

    /// <summary>
    /// The value as Python's compat32 parser keeps it: leading blanks and the final line break removed, folding kept.
    /// Bytes are UTF-8 when they are valid UTF-8, Latin-1 otherwise (the reference does the same for the whole message).
    /// </summary>
    public static string Raw(Header header) => BytesToString(TrimmedRaw(header));

    public static byte[] TrimmedRaw(Header header)
    {
        var raw = header.RawValue;
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

        return start == 0 && end == raw.Length ? raw : raw[start..end];
    }

    public static string BytesToString(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Latin1.GetString(bytes);
        }
    }

    /// <summary>Encoded words decoded; plain text, addresses and folding kept.</summary>
    public static string Decoded(Header header) => Rfc2047.DecodeText(TrimmedRaw(header));

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
