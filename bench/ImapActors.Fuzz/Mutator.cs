using System.Text;

namespace ImapActors.Fuzz;

/// <summary>
/// Seeded mutations of raw emails, aimed at what a MIME parser and the indicator scanners are sensitive to: bytes flipped,
/// chunks dropped, repeated or spliced from another seed, lines repeated many times, and structural tokens (boundaries,
/// header fields, encoded words, encodings, blank lines) inserted where they are least expected.
/// </summary>
internal sealed class Mutator(Random random, IReadOnlyList<byte[]> seeds)
{
    private static readonly byte[][] Tokens =
    [
        .. new[]
        {
            "\r\n\r\n", "\r\n", "\n", "\r", "\0", " ", "\t", "--", "--\r\n", ":", ";", "=", "\"", "\\", "<", ">", "@", ".", "%",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n", "--b\r\n", "--b--\r\n", "Content-Type: message/rfc822\r\n\r\n",
            "Content-Type: text/html; charset=utf-7\r\n", "Content-Transfer-Encoding: base64\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n", "Content-Type: application/ms-tnef\r\n",
            "Content-Disposition: attachment; filename*0*=utf-8''a%E2%80%AE; filename*1=\"b.exe\"\r\n",
            "=?utf-8?B?", "=?utf-7?Q?+AGEAYg-?=", "?=", "=\r\n", "=3D", "http://", "https://x.example/", "mailto:a@",
            "xn--", "&#16;", "&amp;", "<a href=\"", "\">", "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">",
            "\u202e", "\U0001D41A", "\uFEFF", "1.2.3.4", "::ffff:", "d41d8cd98f00b204e9800998ecf8427e",
        }.Select(Encoding.UTF8.GetBytes),
    ];

    public byte[] Mutate(byte[] input)
    {
        var data = new List<byte>(input);
        var rounds = 1 + random.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            switch (random.Next(9))
            {
                case 0:
                    FlipBytes(data);
                    break;
                case 1:
                    DeleteChunk(data);
                    break;
                case 2:
                    DuplicateChunk(data);
                    break;
                case 3:
                    InsertToken(data);
                    break;
                case 4:
                    RepeatLine(data);
                    break;
                case 5:
                    Splice(data);
                    break;
                case 6:
                    Truncate(data);
                    break;
                case 7:
                    InsertRun(data);
                    break;
                default:
                    SwapLines(data);
                    break;
            }
        }

        if (data.Count > MaxInput)
        {
            data.RemoveRange(MaxInput, data.Count - MaxInput);
        }

        return [.. data];
    }

    /// <summary>Inputs are cut to 8 MiB: the cost bounds scale with size, and the interesting shapes show long before.</summary>
    private const int MaxInput = 8 * 1024 * 1024;

    private int Position(List<byte> data) => data.Count == 0 ? 0 : random.Next(data.Count + 1);

    private void FlipBytes(List<byte> data)
    {
        for (var i = random.Next(1, 9); i > 0 && data.Count > 0; i--)
        {
            data[random.Next(data.Count)] = (byte)random.Next(256);
        }
    }

    private void DeleteChunk(List<byte> data)
    {
        if (data.Count == 0)
        {
            return;
        }

        var at = random.Next(data.Count);
        data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(Math.Min(4096, data.Count))));
    }

    private void DuplicateChunk(List<byte> data)
    {
        if (data.Count == 0)
        {
            return;
        }

        var at = random.Next(data.Count);
        var length = Math.Min(data.Count - at, 1 + random.Next(Math.Min(8192, data.Count)));
        var chunk = data.GetRange(at, length);
        data.InsertRange(Position(data), chunk);
    }

    private void InsertToken(List<byte> data) => data.InsertRange(Position(data), Tokens[random.Next(Tokens.Length)]);

    /// <summary>One line repeated up to 20,000 times: many parts, many headers, long folded fields.</summary>
    private void RepeatLine(List<byte> data)
    {
        var (start, end) = Line(data, random.Next(Math.Max(1, data.Count)));
        if (end <= start)
        {
            return;
        }

        var line = data.GetRange(start, end - start);
        var times = random.Next(10) == 0 ? random.Next(1000, 20_000) : random.Next(2, 50);
        times = Math.Max(1, Math.Min(times, MaxInput / line.Count));
        var run = new List<byte>(line.Count * times);
        for (var i = 0; i < times; i++)
        {
            run.AddRange(line);
        }

        data.InsertRange(end, run);
    }

    private void Splice(List<byte> data)
    {
        var other = seeds[random.Next(seeds.Count)];
        if (other.Length == 0)
        {
            return;
        }

        var at = random.Next(other.Length);
        var length = Math.Min(other.Length - at, 1 + random.Next(Math.Min(16384, other.Length)));
        data.InsertRange(Position(data), other.AsSpan(at, length).ToArray());
    }

    private void Truncate(List<byte> data)
    {
        if (data.Count > 1)
        {
            var keep = random.Next(1, data.Count);
            data.RemoveRange(keep, data.Count - keep);
        }
    }

    /// <summary>A long run of one byte (or one token): an unterminated field, a base64 wall, a line without end.</summary>
    private void InsertRun(List<byte> data)
    {
        var unit = random.Next(2) == 0 ? [(byte)random.Next(256)] : Tokens[random.Next(Tokens.Length)];
        var times = random.Next(100, 100_000 / Math.Max(1, unit.Length));
        var run = new List<byte>(unit.Length * times);
        for (var i = 0; i < times; i++)
        {
            run.AddRange(unit);
        }

        data.InsertRange(Position(data), run);
    }

    private void SwapLines(List<byte> data)
    {
        var (a0, a1) = Line(data, random.Next(Math.Max(1, data.Count)));
        var (b0, b1) = Line(data, random.Next(Math.Max(1, data.Count)));
        if (a1 <= a0 || b1 <= b0 || (a0 < b1 && b0 < a1))
        {
            return;
        }

        if (a0 > b0)
        {
            (a0, a1, b0, b1) = (b0, b1, a0, a1);
        }

        var first = data.GetRange(a0, a1 - a0);
        var second = data.GetRange(b0, b1 - b0);
        data.RemoveRange(b0, b1 - b0);
        data.InsertRange(b0, first);
        data.RemoveRange(a0, a1 - a0);
        data.InsertRange(a0, second);
    }

    /// <summary>The line around <paramref name="at"/>, its line break included.</summary>
    private static (int Start, int End) Line(List<byte> data, int at)
    {
        if (data.Count == 0)
        {
            return (0, 0);
        }

        at = Math.Min(at, data.Count - 1);
        var start = data.LastIndexOf((byte)'\n', at);
        start = start < 0 ? 0 : start + 1;
        var end = data.IndexOf((byte)'\n', at);
        end = end < 0 ? data.Count : end + 1;
        return (start, end);
    }
}
