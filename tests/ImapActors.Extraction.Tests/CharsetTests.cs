using System.Text;
using ImapActors.Extraction.Internal;
using MimeKit;

namespace ImapActors.Extraction.Tests;

/// <summary>Charsets an attacker may declare to hide what a text says: UTF-7, UTF-16 and UTF-32 of either byte order.</summary>
public class CharsetTests
{
    public CharsetTests()
    {
        // Tests below call MimeKit's header decoding directly; see FastPathTests.
        TextDecoding.RegisterProviders();
    }

    private static string Utf7(string ascii) => Internal.Utf7.Decode(Encoding.ASCII.GetBytes(ascii));

    [Theory]
    [InlineData("Hi Mom -+Jjo--!", "Hi Mom -\u263a-!")]
    [InlineData("+ZeVnLIqe-", "\u65e5\u672c\u8a9e")]
    [InlineData("A+ImIDkQ.", "A\u2262\u0391.")]
    [InlineData("Item 3 is +AKM-1.", "Item 3 is \u00a31.")]
    [InlineData("1 +- 1 = 2", "1 + 1 = 2")]
    [InlineData("+-+-", "++")]
    [InlineData("http+ADo-//evil.example/login", "http://evil.example/login")]
    [InlineData("a+ADo b", "a: b")]
    [InlineData("+ADoAOg-", "::")]
    [InlineData("+2D3eAA-", "\U0001F600")]
    [InlineData("no plus at all", "no plus at all")]
    [InlineData("", "")]
    public void Utf7_decodes_direct_characters_base64_runs_and_the_literal_plus(string encoded, string expected) =>
        Assert.Equal(expected, Utf7(encoded));

    [Theory]
    [InlineData("+2D0-", "\uFFFD")]
    [InlineData("+2D0-x", "\uFFFDx")]
    [InlineData("+3gA-", "\uFFFD")]
    [InlineData("+2D0AQQ-", "\uFFFDA")]
    [InlineData("trailing +", "trailing ")]
    [InlineData("+A", "")]
    [InlineData("+AEE", "A")]
    [InlineData("+AEEA-", "A")]
    public void Utf7_decodes_malformed_input_leniently(string encoded, string expected) =>
        Assert.Equal(expected, Utf7(encoded));

    [Fact]
    public void Utf7_replaces_eight_bit_bytes_and_never_throws_on_any_byte()
    {
        Assert.Equal("a\uFFFDb", Internal.Utf7.Decode([(byte)'a', 0xE9, (byte)'b']));
        var random = new Random(2152);
        var bytes = new byte[4096];
        for (var round = 0; round < 200; round++)
        {
            random.NextBytes(bytes);
            var text = Internal.Utf7.Decode(bytes);
            Assert.True(text.Length <= bytes.Length + 1);
            // Well-formed UTF-16: a lone surrogate would make the strict encoder throw.
            Assert.True(new UTF8Encoding(false, true).GetByteCount(text) >= 0);
            Assert.Equal(text, Utf7Encoding.Instance.GetString(bytes));
        }
    }

    [Fact]
    public void Utf7_decodes_a_pair_of_surrogates_split_between_two_runs()
    {
        Assert.Equal("\U0001F600", Utf7("+2D0-+3gA-"));
    }

    [Fact]
    public void The_utf7_decoder_keeps_its_state_between_pieces()
    {
        var bytes = Encoding.ASCII.GetBytes("x +2D3eAA- http+ADo-//evil.example +- y");
        var whole = Utf7(Encoding.ASCII.GetString(bytes));
        for (var split = 0; split <= bytes.Length; split++)
        {
            var decoder = Utf7Encoding.Instance.GetDecoder();
            var chars = new char[bytes.Length + 2];
            var n = decoder.GetChars(bytes, 0, split, chars, 0, flush: false);
            n += decoder.GetChars(bytes, split, bytes.Length - split, chars, n, flush: true);
            Assert.Equal(whole, new string(chars, 0, n));
        }
    }

    [Theory]
    [InlineData("utf-7")]
    [InlineData("UTF-7")]
    [InlineData("unicode-1-1-utf-7")]
    [InlineData("csUnicode11UTF7")]
    [InlineData("x-unicode-2-0-utf-7")]
    public void Every_utf7_name_finds_the_utf7_encoding(string name)
    {
        Assert.Same(Utf7Encoding.Instance, Encoding.GetEncoding(name));
        Assert.Equal("a:b", TextDecoding.Decode("a+ADo-b"u8, name));
        Assert.Equal("a:b", TextDecoding.Decode("a+ADo-b"u8, $"\"{name}\""));
    }

    [Fact]
    public void Utf7_encoding_round_trips_what_it_encodes()
    {
        const string text = "a+b \u00e9t\u00e9 \U0001F600 http://x.example/~y";
        var bytes = Utf7Encoding.Instance.GetBytes(text);
        Assert.All(bytes, b => Assert.True(b < 0x80));
        Assert.Equal(text, Utf7Encoding.Instance.GetString(bytes));
    }

    [Theory]
    [InlineData("=?utf-7?Q?http+ADo-//evil.example/login?=")]
    [InlineData("=?UTF-7?B?aHR0cCtBRG8tLy9ldmlsLmV4YW1wbGUvbG9naW4=?=")]
    [InlineData("=?unicode-1-1-utf-7?Q?http+ADo-//evil.example/login?=")]
    public void Encoded_words_in_utf7_are_decoded(string word)
    {
        using var message = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {word}\r\n\r\nbody\r\n")));
        Assert.Equal("http://evil.example/login", HeaderText.Decoded(message.Headers.First(h => h.Field == "Subject")));
        Assert.Equal("http://evil.example/login", HeaderText.Decoded(word));
    }

    [Fact]
    public void Indicators_in_a_utf7_body_are_found()
    {
        var email = TestMail.Process(TestMail.Plain(
            "Visit http+ADo-//evil.example/login or write to admin+AEA-evil.example from 192+AC4-0.2.1",
            "").Replace("charset=utf-8", "charset=utf-7", StringComparison.Ordinal));
        Assert.Contains("http://evil.example/login", email.Urls());
        Assert.Contains("evil.example", email.Domains());
        Assert.Contains("192.0.2.1", email.Ips());
    }

    [Fact]
    public void A_utf7_subject_names_the_container()
    {
        var email = TestMail.Process(TestMail.Plain("body").Replace("Subject: test", "Subject: =?utf-7?Q?Pay_+AKM-100?=", StringComparison.Ordinal));
        Assert.Equal("Pay \u00a3100", email.Container.Name);
    }

    private const string WideText = "Visit https://evil.example/login from 192.0.2.1 \u00e9t\u00e9 \u65e5\u672c";

    private static byte[] Wide(string charset, bool bigEndian, bool bom)
    {
        Encoding encoding = charset.StartsWith("utf-32", StringComparison.OrdinalIgnoreCase)
            ? new UTF32Encoding(bigEndian, byteOrderMark: true)
            : new UnicodeEncoding(bigEndian, byteOrderMark: true);
        return [.. bom ? encoding.GetPreamble() : [], .. encoding.GetBytes(WideText)];
    }

    [Theory]
    [InlineData("utf-16", true, false)]
    [InlineData("utf-16", false, false)]
    [InlineData("utf-16", true, true)]
    [InlineData("utf-16", false, true)]
    [InlineData("UTF-16", true, false)]
    [InlineData("unicode", true, false)]
    [InlineData("utf-16be", true, false)]
    [InlineData("utf-16le", false, false)]
    [InlineData("utf-32", true, false)]
    [InlineData("utf-32", false, false)]
    [InlineData("utf-32", true, true)]
    [InlineData("utf-32", false, true)]
    [InlineData("utf-32be", true, false)]
    [InlineData("utf-32le", false, false)]
    public void Utf16_and_utf32_are_read_in_the_byte_order_of_the_text(string charset, bool bigEndian, bool bom) =>
        Assert.Equal(WideText, TextDecoding.Decode(Wide(charset, bigEndian, bom), charset));

    [Fact]
    public void A_byte_order_mark_wins_over_the_byte_pattern_and_a_tie_is_big_endian()
    {
        // Only ideographs: no zero byte to go by.
        Assert.Equal("\u65e5\u672c", TextDecoding.Decode([0x65, 0xE5, 0x67, 0x2C], "utf-16"));
        Assert.Equal("\u65e5\u672c", TextDecoding.Decode([0xFF, 0xFE, 0xE5, 0x65, 0x2C, 0x67], "utf-16"));
        Assert.Equal("\0a", TextDecoding.Decode([0xFE, 0xFF, 0x00, 0x00, 0x00, 0x61], "utf-16"));
        Assert.Equal("a\uFFFD", TextDecoding.Decode([0x00, 0x61, 0x00], "utf-16"));
    }

    [Theory]
    [InlineData("utf-16", true)]
    [InlineData("utf-16", false)]
    [InlineData("utf-32", true)]
    [InlineData("utf-32", false)]
    public void Indicators_in_a_utf16_or_utf32_body_without_byte_order_mark_are_found(string charset, bool bigEndian)
    {
        var body = Convert.ToBase64String(Wide(charset, bigEndian, bom: false), Base64FormattingOptions.InsertLineBreaks);
        var message = $"From: a@example.com\nSubject: wide\nContent-Type: text/plain; charset={charset}\n" +
            $"Content-Transfer-Encoding: base64\n\n{body}\n";
        var email = TestMail.Process(message);
        Assert.Contains("https://evil.example/login", email.Urls());
        Assert.Contains("192.0.2.1", email.Ips());
    }
}
