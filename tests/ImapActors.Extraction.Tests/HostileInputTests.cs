using System.Diagnostics;
using System.Text;
using ImapActors.Domain;
using Xunit.Abstractions;

namespace ImapActors.Extraction.Tests;

public class HostileInputTests(ITestOutputHelper output)
{
    private ProcessedEmail Timed(string name, string message, ExtractionSettings? settings = null)
    {
        var clock = Stopwatch.StartNew();
        var email = TestMail.Process(message, settings);
        output.WriteLine($"{name}: {clock.ElapsedMilliseconds} ms, {email.Artifacts.Count} artifacts");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{name} took {clock.Elapsed}");
        return email;
    }

    [Fact]
    public void Pathological_texts_are_scanned_in_linear_time()
    {
        var mb = 1 << 20;
        Timed("a.a.a", TestMail.Plain(Repeat("a.", mb / 2)));
        Timed("http://", TestMail.Plain(Repeat("http://", mb / 7)));
        Timed("digits", TestMail.Plain(Repeat("1.2.3.", mb / 6)));
        Timed("colons", TestMail.Plain(Repeat("a:b::", mb / 5)));
        Timed("at-signs", TestMail.Plain(Repeat("a@b.c", mb / 5)));
        Timed("at-run", TestMail.Plain("x@" + Repeat("aa.", mb / 3)));
        Timed("brackets", TestMail.Plain("http://x.example.com/" + Repeat("([", mb / 2)));
        Timed("tags", "From: a@b.c\nContent-Type: text/html\n\n" + Repeat("<a href=\"", mb / 9) + "\n");
        Timed("hex", TestMail.Plain(Repeat("0123456789abcdef", mb / 16)));
    }

    [Fact]
    public void Deep_nesting_stops_at_the_depth_limit_and_says_so()
    {
        var sb = new StringBuilder("From: a@example.com\nSubject: deep\n");
        const int depth = 300;
        for (var i = 0; i < depth; i++)
        {
            sb.Append($"Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n");
        }

        sb.Append("Content-Type: text/plain\n\nhttp://deep.example.com/\n");
        for (var i = depth - 1; i >= 0; i--)
        {
            sb.Append($"--b{i}--\n");
        }

        var email = Timed("nested", sb.ToString());
        Assert.Equal("deep", email.Container.Name);
        Assert.Contains(email.Issues, i => i.Code == IssueCodes.MimeDepthLimit);
        Assert.Single(email.Artifacts, a => a.Name == "Email Ingestion Status");
    }

    [Fact]
    public void Part_count_limit_keeps_what_was_extracted()
    {
        var sb = new StringBuilder("From: a@example.com\nSubject: many\nContent-Type: multipart/mixed; boundary=B\n\n");
        for (var i = 0; i < 50; i++)
        {
            sb.Append($"--B\nContent-Type: text/plain\n\nhttp://p{i}.example.com/\n");
        }

        sb.Append("--B--\n");
        var settings = ExtractionSettings.Default with { Limits = new ExtractionLimits { MaxParts = 10 } };
        var email = Timed("parts", sb.ToString(), settings);
        Assert.Contains(email.Issues, i => i.Code == IssueCodes.PartLimit);
        Assert.NotEmpty(email.Urls());
        var status = email.Artifacts.Single(a => a.Name == "Email Ingestion Status");
        Assert.Contains("limit_parts", status.Cef["ingestionIssues"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Artifact_and_decoded_byte_limits_are_reported()
    {
        var ips = string.Join(' ', Enumerable.Range(1, 200).Select(i => $"10.0.{i / 250}.{i % 250}"));
        var limited = ExtractionSettings.Default with { Limits = new ExtractionLimits { MaxArtifacts = 20 } };
        var email = Timed("artifacts", TestMail.Plain(ips), limited);
        Assert.Contains(email.Issues, i => i.Code == IssueCodes.ArtifactLimit);
        Assert.True(email.Artifacts.Count <= 21);

        var big = Convert.ToBase64String(new byte[100_000], Base64FormattingOptions.InsertLineBreaks);
        var small = ExtractionSettings.Default with { Limits = new ExtractionLimits { MaxDecodedBytes = 10_000 } };
        var attached = Timed("decoded", $"From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/zip\nContent-Disposition: attachment; filename=a.zip\nContent-Transfer-Encoding: base64\n\n{big}\n--B--\n", small);
        Assert.Contains(attached.Issues, i => i.Code == IssueCodes.DecodedBytesLimit);
        Assert.Empty(attached.VaultFiles);
        Assert.Equal("Completed with attachment errors", attached.Artifacts.Single(a => a.Name == "Email Ingestion Status").Cef["attachmentIngestionStatus"]!.ToString());
    }

    [Fact]
    public void Header_bomb_is_handled()
    {
        var words = string.Join(' ', Enumerable.Repeat("=?UTF-8?B?w6k=?=", 50_000));
        var email = Timed("encoded words", $"From: a@example.com\nSubject: {words}\n\nbody\n");
        Assert.StartsWith("éé", email.Container.Name, StringComparison.Ordinal);
    }

    private static string Repeat(string s, int count) => new StringBuilder(s.Length * count).Insert(0, s, count).ToString();
}
