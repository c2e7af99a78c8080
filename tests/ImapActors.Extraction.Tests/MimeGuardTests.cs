using System.Text;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;
using ImapActors.Testing;
using MimeKit;

namespace ImapActors.Extraction.Tests;

/// <summary>The guard before the MIME parser: what it cuts, what it leaves alone, and what the parser then makes of it.</summary>
public class MimeGuardTests
{
    private static readonly GuardLimits Small = new(MaxHeaderFieldBytes: 100, MaxHeaderBytes: 1000, MaxHeaderFields: 20, MaxParts: 5, MaxPreambleBytes: 200);

    private static (GuardResult Result, string Output) Guard(string message, GuardLimits? limits = null)
    {
        var bytes = Encoding.UTF8.GetBytes(message.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal));
        using var raw = new MemoryStream(bytes);
        var result = MimeGuard.Scan(raw, 0, limits ?? Small);
        if (result.Unchanged)
        {
            return (result, Encoding.UTF8.GetString(bytes));
        }

        using var output = MimeGuard.Apply(raw, 0, result.Edits);
        using var reader = new StreamReader(output);
        return (result, reader.ReadToEnd());
    }

    private static MimeMessage ParseText(string text) => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void A_message_within_every_bound_is_left_as_it_is()
    {
        var message = "From: a@example.com\nSubject: hi\nContent-Type: multipart/mixed; boundary=\"b\"\n\npreamble\n--b\n" +
            "Content-Type: text/plain\n\nbody\n--b\nContent-Type: message/rfc822\n\nFrom: c@example.com\n\ninner\n--b--\nepilogue\n";
        var (result, _) = Guard(message);
        Assert.True(result.Unchanged);
        Assert.Empty(result.Issues);
    }

    [Fact]
    public void A_long_field_is_cut_at_its_bound_and_the_next_field_kept()
    {
        var (result, output) = Guard($"From: a@example.com\nSubject: {new string('A', 500)}\n continued {new string('B', 300)}\nTo: b@example.com\n\nbody\n");
        Assert.Equal([IssueCodes.HeaderFieldLimit], result.Issues.Select(i => i.Code));
        var message = ParseText(output);
        Assert.Equal("b@example.com", message.To.Mailboxes.Single().Address);
        Assert.StartsWith("AAAA", message.Subject, StringComparison.Ordinal);
        Assert.True(message.Headers[HeaderId.Subject]!.Length <= 100);
        Assert.Equal("body", message.TextBody!.Trim());
    }

    [Fact]
    public void Fields_beyond_the_count_are_left_out_up_to_the_body()
    {
        var headers = string.Concat(Enumerable.Range(0, 50).Select(i => $"X-{i}: v\n"));
        var (result, output) = Guard($"From: a@example.com\n{headers}\nbody https://x.example/\n");
        Assert.Contains(IssueCodes.HeadersLimit, result.Issues.Select(i => i.Code));
        var message = ParseText(output);
        Assert.Equal(20, message.Headers.Count);
        Assert.Contains("https://x.example/", message.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public void Parts_beyond_the_count_are_left_out_and_the_multiparts_closed()
    {
        var parts = string.Concat(Enumerable.Range(0, 10).Select(i => $"--inner\nContent-Type: text/plain\n\npart {i}\n"));
        var message = "From: a@example.com\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\n" +
            $"Content-Type: multipart/alternative; boundary=inner\n\n{parts}--inner--\n--outer--\n";
        var (result, output) = Guard(message);
        Assert.Contains(IssueCodes.PartLimit, result.Issues.Select(i => i.Code));
        var parsed = ParseText(output);
        var inner = (Multipart)((Multipart)parsed.Body!)[0]!;
        // The message, the outer part and three text parts: five entities.
        Assert.Equal(3, inner.Count);
        Assert.EndsWith("--inner--\r\n--outer--\r\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Preamble_and_epilogue_lines_beyond_their_bound_are_left_out()
    {
        var filler = string.Concat(Enumerable.Repeat("filler line of the preamble\n", 30));
        var message = $"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n{filler}--b\nContent-Type: text/plain\n\nbody\n--b--\n{filler}";
        var (result, output) = Guard(message);
        Assert.Equal([IssueCodes.PreambleLimit], result.Issues.Select(i => i.Code));
        var parsed = ParseText(output);
        Assert.Equal("body", ((TextPart)((Multipart)parsed.Body!)[0]!).Text.Trim());
        Assert.True(output.Length < 600, output);
    }

    [Fact]
    public void The_header_blocks_of_attached_messages_and_digest_parts_are_bounded_too()
    {
        var attached = $"From: a@example.com\nContent-Type: message/rfc822\n\nFrom: c@example.com\nSubject: {new string('S', 300)}\n\ninner\n";
        Assert.Equal([IssueCodes.HeaderFieldLimit], Guard(attached).Result.Issues.Select(i => i.Code));

        var digest = "From: a@example.com\nContent-Type: multipart/digest; boundary=d\n\n--d\n\n" +
            $"From: c@example.com\nSubject: {new string('S', 300)}\n\ninner\n--d--\n";
        Assert.Equal([IssueCodes.HeaderFieldLimit], Guard(digest).Result.Issues.Select(i => i.Code));

        // Encoded, an attached message is content: its bytes are not a header block.
        var encoded = "From: a@example.com\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + new string('Q', 300) + "\n";
        Assert.True(Guard(encoded).Result.Unchanged);
    }

    [Fact]
    public void A_boundary_line_inside_a_header_block_ends_it()
    {
        var message = "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n" +
            $"X-Long: {new string('L', 300)}\n\nbody\n--b--\n";
        var (result, _) = Guard(message);
        Assert.Equal([IssueCodes.HeaderFieldLimit], result.Issues.Select(i => i.Code));
    }

    [Fact]
    public void Lines_without_a_field_name_belong_to_the_field_before_them_as_for_the_parser()
    {
        // Found by the fuzzer: the parser reads such lines into one header, whose buffer it grows in small steps, so 40
        // lines of 83 KB after a part's boundary cost it 1.2 GB of allocations. As one field, they are cut at its bound.
        var junk = string.Concat(Enumerable.Repeat("--b" + new string('x', 80) + "\n", 40));
        var message = $"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n{junk}\nbody\n--b--\n";
        var (result, output) = Guard(message);
        Assert.Equal([IssueCodes.HeaderFieldLimit], result.Issues.Select(i => i.Code));
        Assert.True(output.Length < message.Length - 2000, $"{output.Length} of {message.Length}");
    }

    [Fact]
    public void A_media_type_is_read_as_the_parser_reads_it_whatever_follows_it()
    {
        // Found by the fuzzer: junk lines after "message/rfc822" made the guard read "rfc822junk" and miss the attached
        // message's header block, which the parser read (and grew in small steps: 1.2 GB).
        var message = "From: a@example.com\nContent-Type: message/rfc822\nJUNK\fJUNK\n\n" +
            $"From: c@example.com\nSubject: {new string('S', 300)}\n\ninner\n";
        Assert.Equal([IssueCodes.HeaderFieldLimit], Guard(message).Result.Issues.Select(i => i.Code));
        Assert.Equal(("message", "rfc822", (string?)null), MimeGuard.ParseContentType(" message/rfc822\r\nJUNK\fJUNK"));
        Assert.Equal(("multipart", "mixed", "a b"), MimeGuard.ParseContentType(" Multipart/Mixed ;\r\n boundary=\"a b\""));
        Assert.Equal(("text", "plain", (string?)null), MimeGuard.ParseContentType(" garbage"));
    }

    [CorpusFact]
    public void Every_corpus_message_is_parsed_from_its_own_bytes_unless_over_the_part_limit()
    {
        var limits = GuardLimits.From(new ExtractionLimits());
        var files = Directory.GetFiles(RepoPaths.RequiredCorpus, "*.eml", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            using var raw = File.OpenRead(file);
            var result = MimeGuard.Scan(raw, 0, limits);

            // A message with more parts than are extracted (flanker's enclosed-endless) is cut where the walk stopped.
            var issues = result.Issues.Select(i => i.Code).ToList();
            Assert.True(result.Unchanged || issues.SequenceEqual([IssueCodes.PartLimit]), $"{file}: {string.Join(", ", issues)}");
        }
    }
}
