using System.Text;

namespace ImapActors.Extraction.Internal;

/// <summary>
/// UTF-7 (RFC 2152) decoding. .NET 5 and later refuse <c>utf-7</c> (SYSLIB0001), so a body or an encoded word in that
/// charset would otherwise stay undecoded and hide what it says (<c>http+ADo-//evil.example</c> is
/// <c>http://evil.example</c>). Malformed input is decoded leniently and never throws: a byte above 0x7F and a lone
/// surrogate give U+FFFD, bits left over at the end of a base64 run are dropped.
/// </summary>
internal static class Utf7
{
    /// <summary>The charset names that mean UTF-7 (compared ignoring case).</summary>
    internal static readonly string[] Names = ["utf-7", "unicode-1-1-utf-7", "csUnicode11UTF7", "x-unicode-2-0-utf-7"];

    /// <summary>The code page .NET gives UTF-7, which it refuses to hand out.</summary>
    internal const int DotNetCodePage = 65000;

    /// <summary>
    /// The code page <see cref="Utf7Encoding"/> reports. .NET drops any encoding a provider returns whose code page is
    /// 65000 (unless an app switch re-enables its own obsolete UTF-7), so this one carries a number no code page uses.
    /// </summary>
    internal const int CodePage = 65007;

    /// <summary>Where a decoding stopped, so that text split across calls decodes as if it were one.</summary>
    internal struct State
    {
        /// <summary>Inside a <c>+...-</c> run.</summary>
        public bool InBase64;

        /// <summary>No base64 character seen yet since the <c>+</c> (so a <c>-</c> now means a literal <c>+</c>).</summary>
        public bool JustOpened;

        /// <summary>Bits of the UTF-16 unit being built, the newest in the low bits.</summary>
        public int Bits;

        public int BitCount;

        /// <summary>A high surrogate waiting for its low surrogate, or <c>'\0'</c>.</summary>
        public char PendingHigh;
    }

    /// <summary>Decodes a whole text.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return string.Empty;
        }

        var state = default(State);
        var count = Run(bytes, [], ref state, flush: true, countOnly: true);
        return string.Create(count, bytes, static (chars, input) =>
        {
            var s = default(State);
            Run(input, chars, ref s, flush: true, countOnly: false);
        });
    }

    /// <summary>
    /// Decodes <paramref name="bytes"/> into <paramref name="chars"/> (or only counts when <paramref name="countOnly"/>),
    /// carrying <paramref name="state"/> over; <paramref name="flush"/> ends the text. Returns the number of characters.
    /// At most <c>bytes.Length + 1</c> characters come out of one call.
    /// </summary>
    internal static int Run(ReadOnlySpan<byte> bytes, Span<char> chars, ref State state, bool flush, bool countOnly)
    {
        var n = 0;
        foreach (var b in bytes)
        {
            if (state.InBase64)
            {
                var value = Base64Value(b);
                if (value >= 0)
                {
                    state.JustOpened = false;
                    state.Bits = (state.Bits << 6) | value;
                    state.BitCount += 6;
                    if (state.BitCount >= 16)
                    {
                        state.BitCount -= 16;
                        Unit((char)((state.Bits >> state.BitCount) & 0xFFFF), chars, ref n, ref state, countOnly);
                        state.Bits &= (1 << state.BitCount) - 1;
                    }

                    continue;
                }

                // Any other byte ends the run; a '-' is absorbed, and "+-" is a literal '+'.
                var literalPlus = state.JustOpened && b == (byte)'-';
                state.InBase64 = false;
                state.JustOpened = false;
                state.Bits = 0;
                state.BitCount = 0;
                if (literalPlus)
                {
                    Unit('+', chars, ref n, ref state, countOnly);
                    continue;
                }

                if (b == (byte)'-')
                {
                    continue;
                }
            }

            if (b == (byte)'+')
            {
                state.InBase64 = true;
                state.JustOpened = true;
                continue;
            }

            Unit(b < 0x80 ? (char)b : '\uFFFD', chars, ref n, ref state, countOnly);
        }

        if (flush)
        {
            if (state.PendingHigh != '\0')
            {
                Emit('\uFFFD', chars, ref n, countOnly);
            }

            state = default;
        }

        return n;
    }

    /// <summary>One UTF-16 unit, pairing surrogates (also across runs) and replacing lone ones.</summary>
    private static void Unit(char c, Span<char> chars, ref int n, ref State state, bool countOnly)
    {
        if (state.PendingHigh != '\0')
        {
            if (char.IsLowSurrogate(c))
            {
                Emit(state.PendingHigh, chars, ref n, countOnly);
                Emit(c, chars, ref n, countOnly);
                state.PendingHigh = '\0';
                return;
            }

            Emit('\uFFFD', chars, ref n, countOnly);
            state.PendingHigh = '\0';
        }

        if (char.IsHighSurrogate(c))
        {
            state.PendingHigh = c;
        }
        else
        {
            Emit(char.IsLowSurrogate(c) ? '\uFFFD' : c, chars, ref n, countOnly);
        }
    }

    private static void Emit(char c, Span<char> chars, ref int n, bool countOnly)
    {
        if (!countOnly)
        {
            chars[n] = c;
        }

        n++;
    }

    private static int Base64Value(byte b) => b switch
    {
        >= (byte)'A' and <= (byte)'Z' => b - 'A',
        >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        _ => -1,
    };

    /// <summary>Whether a charset name (trimmed, unquoted) means UTF-7.</summary>
    public static bool IsUtf7Name(ReadOnlySpan<char> name)
    {
        foreach (var known in Names)
        {
            if (name.Equals(known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// UTF-7 as a <see cref="Encoding"/>, so that MimeKit (encoded words) and <see cref="Encoding.GetEncoding(string)"/>
/// find it through <see cref="Utf7EncodingProvider"/>. Decoding is <see cref="Utf7"/>; encoding, which extraction never
/// needs, writes ASCII letters, digits and blanks directly and everything else as base64 runs.
/// </summary>
internal sealed class Utf7Encoding : Encoding
{
    public static readonly Utf7Encoding Instance = new();

    public Utf7Encoding()
        : base(Utf7.CodePage)
    {
    }

    public override string WebName => "utf-7";

    public override string EncodingName => "Unicode (UTF-7)";

    public override string HeaderName => "utf-7";

    public override string BodyName => "utf-7";

    // The base class looks these up by code page, which its table does not have; the values are those of .NET's own UTF-7.
    public override int WindowsCodePage => 1200;

    public override bool IsBrowserDisplay => false;

    public override bool IsBrowserSave => false;

    public override bool IsMailNewsDisplay => true;

    public override bool IsMailNewsSave => true;

    public override bool IsSingleByte => false;

    public override int GetMaxCharCount(int byteCount) => byteCount + 1;

    // A character alone in its run costs "+" and 3 base64 characters; a run's closing "-" is counted per character.
    public override int GetMaxByteCount(int charCount) => (charCount * 5) + 2;

    public override int GetCharCount(byte[] bytes, int index, int count)
    {
        var state = default(Utf7.State);
        return Utf7.Run(bytes.AsSpan(index, count), [], ref state, flush: true, countOnly: true);
    }

    public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex)
    {
        var state = default(Utf7.State);
        var input = bytes.AsSpan(byteIndex, byteCount);
        var needed = Utf7.Run(input, [], ref state, flush: true, countOnly: true);
        if (needed > chars.Length - charIndex)
        {
            throw new ArgumentException("The output array is too small.", nameof(chars));
        }

        state = default;
        return Utf7.Run(input, chars.AsSpan(charIndex), ref state, flush: true, countOnly: false);
    }

    public override string GetString(byte[] bytes, int index, int count) => Utf7.Decode(bytes.AsSpan(index, count));

    public override Decoder GetDecoder() => new Utf7Decoder();

    public override int GetByteCount(char[] chars, int index, int count) => Encode(chars.AsSpan(index, count), []);

    public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex)
    {
        var input = chars.AsSpan(charIndex, charCount);
        if (Encode(input, []) > bytes.Length - byteIndex)
        {
            throw new ArgumentException("The output array is too small.", nameof(bytes));
        }

        return Encode(input, bytes.AsSpan(byteIndex));
    }

    /// <summary>Encodes, or only counts when <paramref name="output"/> is empty.</summary>
    private static int Encode(ReadOnlySpan<char> input, Span<byte> output)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var n = 0;
        var i = 0;
        while (i < input.Length)
        {
            var c = input[i];
            if (char.IsAsciiLetterOrDigit(c) || c is ' ' or '\t' or '\r' or '\n' or '.' or ',' or ':' or '?' or '-')
            {
                Put(output, ref n, (byte)c);
                i++;
                continue;
            }

            if (c == '+')
            {
                Put(output, ref n, (byte)'+');
                Put(output, ref n, (byte)'-');
                i++;
                continue;
            }

            Put(output, ref n, (byte)'+');
            int bits = 0, bitCount = 0;
            while (i < input.Length && !(char.IsAsciiLetterOrDigit(input[i]) || input[i] is ' ' or '\t' or '\r' or '\n' or '.' or ',' or ':' or '?' or '-' or '+'))
            {
                bits = (bits << 16) | input[i];
                bitCount += 16;
                while (bitCount >= 6)
                {
                    bitCount -= 6;
                    Put(output, ref n, (byte)Alphabet[(bits >> bitCount) & 0x3F]);
                }

                bits &= (1 << bitCount) - 1;
                i++;
            }

            if (bitCount > 0)
            {
                Put(output, ref n, (byte)Alphabet[(bits << (6 - bitCount)) & 0x3F]);
            }

            Put(output, ref n, (byte)'-');
        }

        return n;
    }

    private static void Put(Span<byte> output, ref int n, byte b)
    {
        if (!output.IsEmpty)
        {
            output[n] = b;
        }

        n++;
    }

    /// <summary>A decoder that keeps the base64 state between calls, for text decoded in pieces.</summary>
    private sealed class Utf7Decoder : Decoder
    {
        private Utf7.State _state;

        public override int GetCharCount(byte[] bytes, int index, int count) => GetCharCount(bytes, index, count, flush: false);

        public override int GetCharCount(byte[] bytes, int index, int count, bool flush)
        {
            var copy = _state;
            return Utf7.Run(bytes.AsSpan(index, count), [], ref copy, flush, countOnly: true);
        }

        public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex) =>
            GetChars(bytes, byteIndex, byteCount, chars, charIndex, flush: false);

        public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex, bool flush)
        {
            var input = bytes.AsSpan(byteIndex, byteCount);
            var copy = _state;
            if (Utf7.Run(input, [], ref copy, flush, countOnly: true) > chars.Length - charIndex)
            {
                throw new ArgumentException("The output array is too small.", nameof(chars));
            }

            return Utf7.Run(input, chars.AsSpan(charIndex), ref _state, flush, countOnly: false);
        }

        public override void Reset() => _state = default;
    }
}

/// <summary>Gives <see cref="Utf7Encoding"/> for the UTF-7 names and code pages, which .NET itself refuses.</summary>
internal sealed class Utf7EncodingProvider : EncodingProvider
{
    public static readonly Utf7EncodingProvider Instance = new();

    public override Encoding? GetEncoding(int codepage) =>
        codepage is Utf7.CodePage or Utf7.DotNetCodePage ? Utf7Encoding.Instance : null;

    public override Encoding? GetEncoding(string name) =>
        Utf7.IsUtf7Name(name.AsSpan().Trim().Trim('"')) ? Utf7Encoding.Instance : null;

    public override IEnumerable<EncodingInfo> GetEncodings() => [new EncodingInfo(this, Utf7.CodePage, "utf-7", "Unicode (UTF-7)")];
}
