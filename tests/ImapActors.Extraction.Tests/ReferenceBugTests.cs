using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

/// <summary>One test per bug of section 11.A of the reference behaviour that this library fixes.</summary>
public class ReferenceBugTests
{
    private const string Attachment = "AAECAwQFBgcICQ==";

    private static string Mixed(params string[] parts)
    {
        var sb = new StringBuilder("From: a@example.com\nTo: b@example.com\nSubject: s\nMessage-ID: <m@example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n");
        foreach (var p in parts)
        {
            sb.Append("--XX\n").Append(p).Append('\n');
        }

        return sb.Append("--XX--\n").ToString();
    }

    [Fact]
    public void Bug_11A6_long_and_slashed_attachment_names_are_kept_and_made_safe()
    {
        var longName = new string('n', 300) + ".pdf";
        var email = TestMail.Process(Mixed(
            $"Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"{longName}\"\nContent-Transfer-Encoding: base64\n\n{Attachment}",
            "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\nContent-Transfer-Encoding: base64\n\nAAEC"));
        var names = email.VaultFiles.Select(f => f.FileName).ToList();
        Assert.Equal(2, names.Count);
        Assert.True(Encoding.UTF8.GetByteCount(names[0]) <= 255);
        Assert.EndsWith(".pdf", names[0], StringComparison.Ordinal);
        Assert.DoesNotContain('/', names[1]);
        Assert.DoesNotContain("..", names[1], StringComparison.Ordinal);
        var vaultArtifact = email.Named("Vault Artifact").Single(a => a.Cef["fileName"]!.ToString() == names[1]);
        Assert.Equal("../../etc/passwd", vaultArtifact.Cef["originalFileName"]!.ToString());
    }

    [Fact]
    public void Bug_11A7_decoded_from_keeps_the_address()
    {
        var email = TestMail.Process("From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>\nTo: x@example.com\nSubject: =?UTF-8?B?w6k=?=\n\nhi\n");
        var headers = email.Named("Email Artifact").Single().Cef["emailHeaders"]!;
        Assert.Equal("Jürgen Müller <juergen@example.de>", headers["decodedFrom"]!.ToString());
        Assert.Equal("é", headers["decodedSubject"]!.ToString());
    }

    [Fact]
    public void Bug_11A8_eight_bit_cyrillic_body_yields_its_url_and_domain()
    {
        var body = "Смотрите https://пример.рф/путь сегодня";
        var head = "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var bytes = Encoding.ASCII.GetBytes(head).Concat(Encoding.GetEncoding("koi8-r").GetBytes(body)).ToArray();
        var email = TestMail.Process(bytes);
        Assert.Contains("https://пример.рф/путь", email.Urls());
        Assert.Contains("пример.рф", email.Domains());
    }

    [Fact]
    public void Bug_11A9_bare_urls_in_html_with_links_are_found()
    {
        var email = TestMail.Process("From: a@example.com\nTo: b@example.com\nSubject: s\nContent-Type: text/html\n\n<p><a href=\"https://linked.example.com/a\">x</a> and visit https://bare.example.net/login now</p>\n");
        Assert.Contains("https://linked.example.com/a", email.Urls());
        Assert.Contains("https://bare.example.net/login", email.Urls());
    }

    [Fact]
    public void Bug_11A10_ipv4_needs_boundaries()
    {
        var email = TestMail.Process(TestMail.Plain("a 10.0.0.1234 b version 1.2.3.4.5 c 192.168.0.300 d 8.8.8.8, e [203.0.113.9]"));
        Assert.Equal(["8.8.8.8", "203.0.113.9"], email.Ips().ToArray());
    }

    [Fact]
    public void Bug_11A10_ipv6_is_reported_whole_and_ipv4_mapped_as_its_ipv4()
    {
        var email = TestMail.Process(TestMail.Plain("one 2001:db8::1 two ::ffff:192.0.2.1 three fe80::1%eth0 std::vector AAAA::B9"));
        var ips = email.Ips().ToList();
        Assert.Contains("2001:db8::1", ips);
        Assert.Contains("192.0.2.1", ips);
        Assert.Contains("fe80::1", ips);
        Assert.DoesNotContain("::ffff:192", ips);
        Assert.DoesNotContain(ips, ip => ip.StartsWith("::ffff", StringComparison.Ordinal));
    }

    [Fact]
    public void Bug_11A12_inline_image_without_disposition_is_vaulted_not_scanned()
    {
        var email = TestMail.Process(Mixed(
            "Content-Type: text/plain\n\nhello",
            $"Content-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <img1@example.org>\n\n{Attachment}"));
        Assert.Single(email.VaultFiles);
    }

    [Fact]
    public void Bug_11A12_inline_text_with_file_name_is_vaulted_and_scanned()
    {
        var email = TestMail.Process(Mixed(
            "Content-Type: text/plain\nContent-Disposition: inline; filename=\"note.txt\"\n\nsee https://inline.example.com/x"));
        Assert.Single(email.VaultFiles);
        Assert.Contains("https://inline.example.com/x", email.Urls());
    }

    [Fact]
    public void Bug_11A13_unnamed_parts_get_clean_names()
    {
        var email = TestMail.Process(Mixed(
            $"Content-Type: image/png\nContent-Disposition: inline\nContent-ID: <img1@example.org>\nContent-Transfer-Encoding: base64\n\n{Attachment}",
            "Content-Type: application/x-unknown-thing\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nAAECAw=="));
        var names = email.VaultFiles.Select(f => f.FileName).ToList();
        Assert.Equal("img1@example.org.png", names[0]);
        Assert.DoesNotContain(names, n => n.Contains("None", StringComparison.Ordinal) || n.Contains('<', StringComparison.Ordinal));
    }

    [Fact]
    public void Bug_11A14_container_is_made_without_from_to_or_message_id()
    {
        var email = TestMail.Process("Subject: nothing else\nContent-Type: text/plain\n\nno indicators here\n");
        Assert.Equal("nothing else", email.Container.Name);
        Assert.Empty(email.Named("Email Artifact"));

        var bare = TestMail.Process("X-Only: header\n\nbody\n");
        Assert.Equal("Email ID: 7", bare.Container.Name);
    }

    [Fact]
    public void Bug_11A15_headers_starting_with_body_are_kept_and_add_body_does_not_crash()
    {
        var settings = ExtractionSettings.Default with { AddBodyToHeaderArtifacts = true };
        var email = TestMail.Process(TestMail.Plain("the body", "Body-Hash: abc\n"), settings);
        var cef = email.Named("Email Artifact").Single().Cef;
        Assert.Equal("abc", cef["emailHeaders"]!["Body-Hash"]!.ToString());
        Assert.Equal("the body\r\n", cef["bodyPart1"]!.ToString());
        Assert.Equal("text/plain; charset=utf-8", cef["bodyPart1ContentType"]!.ToString());
    }

    [Fact]
    public void Bug_11A16_container_name_has_no_folding()
    {
        var email = TestMail.Process("From: a@example.com\nSubject: a long\n  folded subject\n\nbody\n");
        Assert.Equal("a long  folded subject", email.Container.Name);
    }

    [Fact]
    public void Bug_11A16_unknown_charset_in_subject_keeps_the_plain_text()
    {
        var email = TestMail.Process("From: a@example.com\nSubject: Re: =?x-unknown?Q?abc?= tail\n\nbody\n");
        Assert.StartsWith("Re: ", email.Container.Name, StringComparison.Ordinal);
        Assert.EndsWith("tail", email.Container.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Bug_11A17_email_id_is_always_an_int()
    {
        var email = TestMail.Process(TestMail.Plain("x"));
        var id = email.Named("Email Artifact").Single().Cef["emailId"]!;
        Assert.Equal(System.Text.Json.JsonValueKind.Number, id.GetValueKind());
        Assert.Equal(7, id.GetValue<long>());
    }

    [Fact]
    public void Bug_11A22_artifact_order_is_deterministic()
    {
        var text = TestMail.Plain("https://b.example.com https://a.example.com 9.9.9.9 1.1.1.1 http://c.example.org");
        var first = TestMail.Process(text).Artifacts.Select(a => a.SourceDataIdentifier).ToList();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(first, TestMail.Process(text).Artifacts.Select(a => a.SourceDataIdentifier).ToList());
        }

        Assert.Equal(["9.9.9.9", "1.1.1.1"], TestMail.Process(text).Ips().ToArray());
    }

    [Fact]
    public void Bug_11A26_identical_attachments_give_one_vault_artifact()
    {
        var part = $"Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n{Attachment}";
        var email = TestMail.Process(Mixed(part, part));
        var vault = email.Named("Vault Artifact").ToList();
        Assert.Single(vault);
        Assert.True(vault[0].RunAutomation);
        Assert.Equal(email.Artifacts.Count, email.Artifacts.Select(a => a.SourceDataIdentifier).Distinct().Count());
    }

    [Fact]
    public void Bug_11A27_domains_are_lower_cased_idna_mapped_and_trailing_dot_trimmed()
    {
        var email = TestMail.Process(TestMail.Plain("http://WWW.Example.COM./a http://www.example.com/b mail x@Example.COM. and https://BÜCHER.example/"));
        var domains = email.Domains().ToList();
        Assert.Contains("www.example.com", domains);
        Assert.Contains("example.com", domains);
        Assert.Contains("bücher.example", domains);
        Assert.Equal(domains.Count, domains.Distinct().Count());
        Assert.DoesNotContain(domains, d => d.EndsWith('.') || d.Any(char.IsUpper));
    }
}
