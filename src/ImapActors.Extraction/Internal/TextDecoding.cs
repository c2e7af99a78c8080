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

        return declared!.GetString(bytes);
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
