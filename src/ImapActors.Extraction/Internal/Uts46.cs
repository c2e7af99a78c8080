using System.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// The mapping step of UTS #46 (IDNA compatibility processing) for every code point: case folding, compatibility
/// forms (mathematical alphanumerics <c>𝚠𝚊𝚔𝚎𝚞𝚙</c>, fullwidth <c>ｅｘａｍｐｌｅ</c>, circled <c>ⓔⓥⓘⓛ</c>...), the
/// ideographic full stops as <c>.</c>, and ignored code points (soft hyphen, zero-width space...) removed. A browser
/// applies it before resolving a name, so a phishing domain spelled with such characters is the domain they map to.
/// </summary>
/// <remarks>
/// The process runs with invariant globalization, where <see cref="string.Normalize(NormalizationForm)"/> and
/// <see cref="System.Globalization.IdnMapping"/> do none of this, so the table (Uts46Mapping.txt, written by
/// scripts/uts46-mapping.py from Unicode's IdnaMappingTable) is ours. It is read on first use: about 6,700 code points.
/// </remarks>
internal static class Uts46
{
    /// <summary>The mapped code points, sorted.</summary>
    private static readonly int[] Keys;

    /// <summary>Where the mapping of <c>Keys[i]</c> starts in <see cref="Targets"/>; one extra entry marks the end.</summary>
    private static readonly int[] Starts;

    /// <summary>Every mapping, one after the other, in UTF-16.</summary>
    private static readonly string Targets;

#pragma warning disable CA1810 // The table is parsed once, in the order its three arrays need.
    static Uts46()
#pragma warning restore CA1810
    {
        using var stream = typeof(Uts46).Assembly.GetManifestResourceStream("ImapActors.Extraction.Uts46Mapping.txt")
            ?? throw new InvalidOperationException("The UTS #46 mapping table is not embedded.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var keys = new List<int>(7000);
        var starts = new List<int>(7001);
        var targets = new StringBuilder(9000);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split(' ');
            keys.Add(int.Parse(fields[0], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
            starts.Add(targets.Length);
            for (var i = 1; i < fields.Length; i++)
            {
                var cp = int.Parse(fields[i], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                targets.Append(new Rune(cp).ToString());
            }
        }

        starts.Add(targets.Length);
        Keys = [.. keys];
        Starts = [.. starts];
        Targets = targets.ToString();
    }

    /// <summary>The mapping of one code point, or false when UTS #46 leaves it as it is.</summary>
    internal static bool TryMap(int codePoint, out ReadOnlySpan<char> mapped)
    {
        var i = Array.BinarySearch(Keys, codePoint);
        if (i < 0)
        {
            mapped = default;
            return false;
        }

        mapped = Targets.AsSpan(Starts[i], Starts[i + 1] - Starts[i]);
        return true;
    }

    /// <summary>Whether a non-ASCII code point maps to one ASCII letter (<c>𝐜</c>, <c>ｃ</c>, <c>ⓒ</c> are <c>c</c>).</summary>
    internal static bool IsAsciiLetterLookalike(Rune rune) =>
        !rune.IsAscii && TryMap(rune.Value, out var mapped) && mapped.Length == 1 && char.IsAsciiLetter(mapped[0]);

    /// <summary>
    /// The name with every code point mapped (ASCII upper case lower-cased), or null as soon as the result would be
    /// longer than <paramref name="maxCodePoints"/> code points: a mapping can make a name longer (<c>㍿</c> is four
    /// letters), and nothing longer than a DNS name is worth building. A name already in mapped form is returned as it is.
    /// </summary>
    public static string? Map(string name, int maxCodePoints)
    {
        var first = FirstToMap(name);
        if (first < 0)
        {
            return CodePointCount(name) <= maxCodePoints ? name : null;
        }

        var sb = new StringBuilder(Math.Min(name.Length, maxCodePoints * 2) + 8);
        sb.Append(name, 0, first);
        var count = CodePointCount(name.AsSpan(0, first));
        var i = first;
        while (i < name.Length)
        {
            var c = name[i];
            if (c < 0x80)
            {
                sb.Append(char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c);
                count++;
                i++;
            }
            else
            {
                if (Rune.DecodeFromUtf16(name.AsSpan(i), out var rune, out var used) != System.Buffers.OperationStatus.Done)
                {
                    // A lone surrogate: kept, for IDNA to reject.
                    sb.Append(c);
                    count++;
                    i++;
                }
                else if (TryMap(rune.Value, out var mapped))
                {
                    sb.Append(mapped);
                    count += CodePointCount(mapped);
                    i += used;
                }
                else
                {
                    sb.Append(name, i, used);
                    count++;
                    i += used;
                }
            }

            if (count > maxCodePoints)
            {
                return null;
            }
        }

        return sb.ToString();
    }

    /// <summary>The first index with an ASCII upper-case letter or a non-ASCII character, or -1.</summary>
    private static int FirstToMap(string name)
    {
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] >= 0x80 || char.IsAsciiLetterUpper(name[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Code points, a surrogate pair counting as one.</summary>
    internal static int CodePointCount(ReadOnlySpan<char> text)
    {
        var n = text.Length;
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                n--;
                i++;
            }
        }

        return n;
    }
}
