using System.Text;
using MimeKit;

namespace ImapActors.Extraction.Internal;

/// <summary>Attachment names and file types.</summary>
internal static class FileRules
{
    private const int MaxNameBytes = 255;

    /// <summary>
    /// The decoded file name (RFC 2231 and RFC 2047), or for an unnamed part its Content-ID without angle brackets, or
    /// <c>part_{index}</c>, plus the extension of its type when one is known.
    /// </summary>
    public static string OriginalName(MimeEntity part, int index)
    {
        string? name = null;
        try
        {
            name = part is MimePart mp ? mp.FileName : part.ContentDisposition?.FileName ?? part.ContentType.Name;
        }
        catch (FormatException)
        {
            // A name parameter MimeKit cannot decode falls back to the generated name.
        }

        if (!string.IsNullOrWhiteSpace(name))
        {
            return name;
        }

        var stem = part.ContentId is { Length: > 0 } cid ? cid.Trim('<', '>', ' ') : null;
        if (string.IsNullOrEmpty(stem))
        {
            stem = $"part_{index}";
        }

        return MimeTypes.TryGetExtension(part.ContentType.MimeType, out var ext) ? stem + ext : stem;
    }

    /// <summary>
    /// A name safe to show and to use anywhere: no control characters, no path separators, no <c>..</c>, no
    /// characters that reorder or break the displayed text (<see cref="IsSpoofingCharacter"/>), at most 255 UTF-8 bytes
    /// with the extension kept; <c>attachment-{number}</c> when nothing is left.
    /// </summary>
    public static string SafeName(string name, int number)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            sb.Append(c < 0x20 || c == 0x7f || c is '/' or '\\' || IsSpoofingCharacter(c) ? '_' : c);
        }

        var s = sb.ToString();
        while (s.Contains("..", StringComparison.Ordinal))
        {
            s = s.Replace("..", "_", StringComparison.Ordinal);
        }

        s = s.Trim();
        if (Encoding.UTF8.GetByteCount(s) > MaxNameBytes)
        {
            var dot = s.LastIndexOf('.');
            var ext = dot > 0 && s.Length - dot <= 16 ? s[dot..] : string.Empty;
            var budget = MaxNameBytes - Encoding.UTF8.GetByteCount(ext);
            var stem = new StringBuilder();
            var used = 0;
            foreach (var rune in s[..(s.Length - ext.Length)].EnumerateRunes())
            {
                if (used + rune.Utf8SequenceLength > budget)
                {
                    break;
                }

                stem.Append(rune.ToString());
                used += rune.Utf8SequenceLength;
            }

            s = stem + ext;
        }

        return s.Length == 0 || s == "." ? $"attachment-{number}" : s;
    }

    /// <summary>
    /// Bidirectional controls (U+202A..U+202E embeddings and overrides, U+2066..U+2069 isolates, the marks U+200E,
    /// U+200F, U+061C) and the line and paragraph separators U+2028, U+2029: in a file name they make it display as
    /// something else (<c>invoice\u202Egpj.exe</c> shows as <c>invoiceexe.jpg</c>).
    /// </summary>
    public static bool IsSpoofingCharacter(char c) =>
        c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') or '\u200E' or '\u200F' or '\u061C' or '\u2028' or '\u2029';

    /// <summary>Whether the name holds a character of <see cref="IsSpoofingCharacter"/>.</summary>
    public static bool HasSpoofingCharacter(string name)
    {
        foreach (var c in name)
        {
            if (IsSpoofingCharacter(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The reference's "contains" list: from the name's extension, then from the first bytes.</summary>
    public static List<string> Contains(string fileName, ReadOnlySpan<byte> head)
    {
        var contains = new List<string>();
        var dot = fileName.LastIndexOf('.');
        var ext = dot >= 0 ? fileName[dot..] : string.Empty;
        switch (ext)
        {
            case ".doc" or ".docx":
                contains.Add("doc");
                break;
            case ".xls" or ".xlsx":
                contains.Add("xls");
                break;
            case ".js":
                contains.Add("javascript");
                break;
            case ".vmsn":
                contains.AddRange(["os memory dump", "vm snapshot file"]);
                break;
            case ".vmss":
                contains.AddRange(["os memory dump", "vm suspend file"]);
                break;
        }

        if (head.StartsWith("MZ"u8))
        {
            contains.AddRange(["pe file", "hash"]);
        }
        else if (head.StartsWith("%PDF-"u8))
        {
            contains.Add("pdf");
        }
        else if (head.StartsWith("MDMP"u8))
        {
            contains.Add("process dump");
        }
        else if (head.StartsWith("FWS"u8) || head.StartsWith("CWS"u8) || head.StartsWith("ZWS"u8))
        {
            contains.Add("flash");
        }

        return contains;
    }
}
