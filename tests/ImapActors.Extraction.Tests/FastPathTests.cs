using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;
using MimeKit;

namespace ImapActors.Extraction.Tests;

/// <summary>The shortcuts taken for ordinary messages give what the general path gives.</summary>
public class FastPathTests
{
    public FastPathTests()
    {
        // Some tests call MimeKit's header decoding directly. EmailProcessor registers the legacy code pages and UTF-7 before
        // MimeKit's first charset lookup, which caches what it finds; a test run first must not get ahead of it.
        TextDecoding.RegisterProviders();
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("a.b-c.d0")]
    [InlineData("-lead.example")]
    [InlineData("trail-.example")]
    [InlineData("ab--cd.example")]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData("xnx--a.example")]
    [InlineData("a.bxn--c")]
    [InlineData("123.456")]
    public void A_plain_ascii_name_is_its_own_idna_normal_form(string name)
    {
        Assert.True(UrlRules.IsPlainAsciiName(name));
        Assert.Equal(UrlRules.IdnaRoundTrip(name), name);
    }

    [Fact]
    public void Plain_ascii_names_of_every_length_and_label_shape_are_their_own_idna_normal_form()
    {
        // Label and name lengths around IDNA's limits (63 per label, 253/255 per name), with hyphens and empty labels.
        var random = new Random(20261101);
        const string alphabet = "abcxyz019-.";
        var names = new List<string>();
        foreach (var label in new[] { 1, 2, 62, 63, 64, 65 })
        {
            names.Add(new string('a', label) + ".example");
            names.Add("x." + new string('b', label));
        }

        foreach (var total in new[] { 250, 252, 253, 254, 255, 256, 300 })
        {
            var sb = new StringBuilder();
            while (sb.Length < total)
            {
                sb.Append(new string('c', Math.Min(60, total - sb.Length))).Append('.');
            }

            names.Add(sb.ToString(0, total).TrimEnd('.'));
        }

        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(1, 80)];
            for (var k = 0; k < chars.Length; k++)
            {
                chars[k] = alphabet[random.Next(alphabet.Length)];
            }

            names.Add(new string(chars));
        }

        foreach (var name in names.Where(UrlRules.IsPlainAsciiName))
        {
            Assert.Equal(UrlRules.IdnaRoundTrip(name), name);
        }
    }

    [Theory]
    [InlineData("xn--bcher-kva.example", "bücher.example")]
    [InlineData("www.xn--bcher-kva.example", "www.bücher.example")]
    [InlineData("bücher.example", "bücher.example")]
    [InlineData("under_score.example", "under_score.example")]
    public void Names_that_are_not_plain_ascii_go_through_idna(string name, string expected)
    {
        Assert.False(UrlRules.IsPlainAsciiName(name));
        Assert.Equal(expected, UrlRules.NormalizeDomain(name));
    }

    [Fact]
    public void Normalize_domain_lower_cases_and_drops_the_trailing_dot_before_the_shortcut()
    {
        Assert.Equal("example.com", UrlRules.NormalizeDomain("Example.COM."));
        Assert.Equal("example.com", UrlRules.NormalizeDomain(" EXAMPLE.com "));
        Assert.Equal("bücher.example", UrlRules.NormalizeDomain("XN--BCHER-KVA.Example."));
        Assert.Null(UrlRules.NormalizeDomain(" ..."));
    }

    [Fact]
    public void Canonical_json_sorts_every_object_and_writes_one_member_objects_as_they_are()
    {
        var node = new JsonObject
        {
            ["z"] = new JsonObject { ["only"] = "x" },
            ["a"] = new JsonArray(new JsonObject { ["d"] = 1, ["c"] = true, ["b"] = null }, new JsonObject()),
            ["m"] = new JsonObject { ["y"] = "1", ["x"] = new JsonObject { ["q"] = "2", ["p"] = "3" } },
        };
        Assert.Equal("{\"a\": [{\"b\": null, \"c\": true, \"d\": 1}, {}], \"m\": {\"x\": {\"p\": \"3\", \"q\": \"2\"}, \"y\": \"1\"}, \"z\": {\"only\": \"x\"}}",
            CanonicalJson.Serialize(node));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(100)]
    public void Canonical_json_sorts_objects_sorted_on_the_stack_and_in_a_pooled_array_alike(int members)
    {
        // Up to 32 members are sorted in a stack buffer, more in a pooled array: both must give the sorted text.
        var node = new JsonObject();
        for (var i = members - 1; i >= 0; i--)
        {
            node[$"k{i:d3}"] = i;
        }

        var expected = "{" + string.Join(", ", Enumerable.Range(0, members).Select(i => $"\"k{i:d3}\": {i}")) + "}";
        Assert.Equal(expected, CanonicalJson.Serialize(node));
        Assert.Equal(expected, CanonicalJson.Serialize(node));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    public void Header_dict_merges_names_ignoring_case_in_short_and_long_header_blocks(int padding)
    {
        // Short blocks are matched by scanning the keys, long ones (over 32 fields) through an index: same result.
        var fields = Enumerable.Range(0, padding).Select(i => ($"X-Pad-{i}", $"p{i}")).ToList();
        fields.AddRange([
            ("From", "a@x"), ("received", "r1"), ("Subject", "=?utf-8?q?caf=C3=A9?="), ("FROM", "b@x"), ("Received", "r2"),
            ("decodedTo", "kept"), ("To", "t@x"), ("cc", ""), ("x-pad-0", "last"),
        ]);

        var dict = HeaderDictionary.Build(fields);

        var keys = Enumerable.Range(0, padding).Select(i => i == 0 ? "x-pad-0" : $"X-Pad-{i}").ToList();
        keys.AddRange(["FROM", "Received", "Subject", "decodedTo", "To", "cc"]);
        if (padding == 0)
        {
            keys.Add("x-pad-0");
        }

        keys.AddRange(["decodedSubject", "decodedFrom"]);
        Assert.Equal(keys, dict.Select(m => m.Key));
        Assert.Equal("last", (string?)dict["x-pad-0"]);
        Assert.Equal("b@x", (string?)dict["FROM"]);
        Assert.Equal(["r1", "r2"], dict["Received"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("kept", (string?)dict["decodedTo"]);
        Assert.Equal("café", (string?)dict["decodedSubject"]);
        Assert.Equal("b@x", (string?)dict["decodedFrom"]);
        Assert.False(dict.ContainsKey("decodedCC"));
    }

    [Fact]
    public void A_thread_parses_each_message_as_a_fresh_parser_would()
    {
        // A thread reuses one parser for small messages: nothing of a message (nor of a failed parse) may reach the next.
        var multipart = "From: a@example.com\nTo: b@example.org\nSubject: one\nContent-Type: multipart/mixed; boundary=XX\n\n" +
            "--XX\nContent-Type: text/plain\n\nsee 10.1.2.3 and https://one.example/x\n--XX\nContent-Type: application/octet-stream\n" +
            "Content-Disposition: attachment; filename=a.bin\n\nabc\n--XX--\n";
        string[] messages =
        [
            multipart,
            "no header block at all",
            " \n\t\n" + TestMail.Plain("after blank lines 10.9.8.7"),
            TestMail.Plain("plain https://two.example/y", "Received: from x\n"),
            multipart,
        ];

        static string Summary(ProcessedEmail e) =>
            e.Container.Name + " | " + string.Join(" ", e.Artifacts.Select(a => a.SourceDataIdentifier)) + " | " +
            string.Join(" ", e.Issues.Select(i => i.Code));

        var inSequence = messages.Select(m => Summary(TestMail.Process(m))).ToList();
        var alone = messages.Select(m =>
        {
            // A new thread has no parser yet.
            string? summary = null;
            var thread = new Thread(() => summary = Summary(TestMail.Process(m)));
            thread.Start();
            thread.Join();
            return summary!;
        }).ToList();

        Assert.Equal(alone, inSequence);
        Assert.Equal(inSequence[0], inSequence[4]);
    }

    [Fact]
    public void The_reused_parser_does_not_keep_the_last_message_alive()
    {
        var bytes = ProcessAndForget();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(bytes.IsAlive);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference ProcessAndForget()
    {
        var bytes = Encoding.UTF8.GetBytes(TestMail.Plain("kept? 10.1.2.3").Replace("\n", "\r\n", StringComparison.Ordinal));
        Assert.NotEmpty(TestMail.Process(bytes).Artifacts);
        return new WeakReference(bytes);
    }

    [Fact]
    public void The_time_limit_stops_extraction_once_it_has_passed()
    {
        // 200 parts: the walk checks the clock at each one, well after a zero limit has passed.
        var parts = string.Concat(Enumerable.Range(0, 200).Select(i => $"--XX\nContent-Type: text/plain\n\npart {i}\n"));
        var message = $"From: a@example.com\nTo: b@example.org\nContent-Type: multipart/mixed; boundary=XX\n\n{parts}--XX--\n";
        var noTime = ExtractionSettings.Default with { Limits = new ExtractionLimits { MaxTime = TimeSpan.Zero } };

        Assert.Contains(TestMail.Process(message, noTime).Issues, i => i.Code == IssueCodes.TimeLimit);
        Assert.DoesNotContain(TestMail.Process(message).Issues, i => i.Code == IssueCodes.TimeLimit);
    }

    [Fact]
    public void Header_text_trims_leading_blanks_and_the_final_line_break_and_keeps_folding()
    {
        // The é of X-Latin is one Latin-1 byte, which is not UTF-8.
        byte[] bytes = [.. "Subject: \t =?utf-8?q?caf=C3=A9?= x\r\n\tfolded\r\nX-Latin:  caf"u8, 0xe9, .. "\r\n\r\nbody\r\n"u8];
        using var message = MimeMessage.Load(new MemoryStream(bytes));
        var subject = message.Headers.First(h => h.Field == "Subject");
        Assert.Equal("=?utf-8?q?caf=C3=A9?= x\r\n\tfolded", HeaderText.Raw(subject));
        Assert.Equal("café x\r\n\tfolded", HeaderText.Decoded(subject));
        Assert.Equal("café", HeaderText.Raw(message.Headers.First(h => h.Field == "X-Latin")));
    }

    [Fact]
    public void Unencoded_body_text_is_read_as_it_is_and_quoted_printable_is_decoded()
    {
        const string url = "https://example.com/a=3Db";
        var sevenBit = TestMail.Process(TestMail.Plain(url, "Content-Transfer-Encoding: 7bit\n"));
        Assert.Contains(url, sevenBit.Urls());
        var unknown = TestMail.Process(TestMail.Plain(url, "Content-Transfer-Encoding: x-odd\n"));
        Assert.Contains(url, unknown.Urls());
        var qp = TestMail.Process(TestMail.Plain(url, "Content-Transfer-Encoding: quoted-printable\n"));
        Assert.Contains("https://example.com/a=b", qp.Urls());
    }
}
