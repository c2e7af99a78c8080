using System.Collections.Concurrent;
using System.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>Body bytes to text: the declared charset when it is known, UTF-8 when valid, Windows-1252 otherwise.</summary>
internal static class TextDecoding
{
    // Initialised with the charset table below, so the code-page provider is registered before the first lookup.
    private static readonly Encoding Windows1252 = GetWindows1252();

    /// <summary>
    /// Charset names already looked up: a process meets few distinct names, and each lookup trims and searches the
    /// runtime's tables. Once the table is full, names not yet in it are looked up each time, so hostile names cannot
    /// grow it without bound.
    /// </summary>
    private static readonly ConcurrentDictionary<string, Encoding?> Charsets = new(StringComparer.Ordinal);

    /// <summary>The declared charset when it is known; UTF-8 when the bytes are valid UTF-8; Windows-1252 otherwise.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? charset)
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

        if (declared!.CodePage is 1200 or 1201 or 12000 or 12001)
        {
            return DecodeWide(bytes, declared.CodePage, charset!);
        }

        return declared.GetString(bytes);
    }

    private static readonly Encoding Utf32BigEndian = new UTF32Encoding(bigEndian: true, byteOrderMark: false);

    /// <summary>
    /// UTF-16 or UTF-32 in the byte order the text has. .NET reads <c>utf-16</c> and <c>utf-32</c> as little-endian
    /// whatever the bytes, so big-endian text without a byte-order mark came out as CJK-looking noise, indicators lost.
    /// A byte-order mark decides (and is dropped); else a name that says the order (<c>utf-16be</c>, <c>utf-32le</c>...);
    /// else the bytes: ASCII-heavy text has its zero bytes on the high side of each unit. A tie is big-endian, the
    /// default of RFC 2781.
    /// </summary>
    private static string DecodeWide(ReadOnlySpan<byte> bytes, int codePage, string charset)
    {
        var wide = codePage is 12000 or 12001;
        bool bigEndian;
        var bom = 0;
        if (wide && bytes.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]))
        {
            (bigEndian, bom) = (true, 4);
        }
        else if (wide && bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE, 0x00, 0x00]))
        {
            (bigEndian, bom) = (false, 4);
        }
        else if (!wide && bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            (bigEndian, bom) = (true, 2);
        }
        else if (!wide && bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
        {
            (bigEndian, bom) = (false, 2);
        }
        else if (NamesByteOrder(charset))
        {
            bigEndian = codePage is 1201 or 12001;
        }
        else
        {
            bigEndian = LooksBigEndian(bytes, wide ? 4 : 2);
        }

        var encoding = wide
            ? bigEndian ? Utf32BigEndian : Encoding.UTF32
            : bigEndian ? Encoding.BigEndianUnicode : Encoding.Unicode;
        return encoding.GetString(bytes[bom..]);
    }

    private static bool NamesByteOrder(string charset)
    {
        var name = charset.AsSpan().Trim().Trim('"');
        return name.EndsWith("le", StringComparison.OrdinalIgnoreCase) || name.EndsWith("be", StringComparison.OrdinalIgnoreCase) ||
            name.Equals("unicodefffe", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Whether the first units (4 KiB at most) have more zero bytes first in the unit than last: a big-endian unit of
    /// ASCII or Latin text starts with its zero byte, a little-endian one ends with it.
    /// </summary>
    internal static bool LooksBigEndian(ReadOnlySpan<byte> bytes, int unit)
    {
        var sample = bytes[..(Math.Min(bytes.Length, 4096) / unit * unit)];
        int first = 0, last = 0;
        for (var i = 0; i < sample.Length; i += unit)
        {
            first += sample[i] == 0 ? 1 : 0;
            last += sample[i + unit - 1] == 0 ? 1 : 0;
        }

        return first >= last;
    }

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
        RegisterProviders();
        return Encoding.GetEncoding(1252);
    }

    /// <summary>
    /// Makes <see cref="Encoding.GetEncoding(string)"/>, and so MimeKit, know the legacy code pages (ISO-2022-JP, GB2312,
    /// EUC-KR, KOI8-R, windows-125x...) and UTF-7, which .NET refuses by itself. Registering again changes nothing.
    /// </summary>
    internal static void RegisterProviders()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        Encoding.RegisterProvider(Utf7EncodingProvider.Instance);
    }
}
