using ImapActors.Domain;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

/// <summary>Values that are not indicators are not reported: declarations, cut copies of links, punctuation, placeholders.</summary>
public class PrecisionTests
{
    private static Indicators Scan(string text)
    {
        var indicators = new Indicators(new MessageContext(ExtractionSettings.Default, 7, new Budget(ExtractionSettings.Default.Limits)));
        indicators.Scan(text);
        return indicators;
    }

    private static string Html(string html) =>
        $"From: a@example.com\nTo: b@example.org\nSubject: s\nMessage-ID: <1@example.com>\nContent-Type: text/html; charset=utf-8\n\n{html}\n";

    private static string Mixed(string partHeaders, string partBody) =>
        "From: a@example.com\nTo: b@example.org\nSubject: s\nMessage-ID: <1@example.com>\nContent-Type: multipart/mixed; boundary=B\n\n" +
        $"--B\nContent-Type: text/plain\n\nhello\n--B\n{partHeaders}\n\n{partBody}\n--B--\n";

    // ---------------------------------------------------------------- declarations

    [Fact]
    public void Xml_namespaces_and_schema_locations_are_not_urls()
    {
        var found = Scan(
            "<html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\" " +
            "xmlns:m=\"http://schemas.microsoft.com/office/2004/12/omml\" " +
            "xsi:schemaLocation=\"http://www.example.net/ns http://www.example.net/ns.xsd\"><p>hi</p></html>");

        Assert.Empty(found.Urls);
        Assert.Empty(found.Domains);
    }

    [Fact]
    public void Doctype_identifiers_are_not_urls()
    {
        var found = Scan(
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">" +
            "<html><body>plain</body></html>");

        Assert.Empty(found.Urls);
        Assert.Empty(found.Domains);
    }

    [Fact]
    public void A_namespace_url_that_is_also_a_link_or_text_is_still_found()
    {
        var linked = Scan("<html xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"http://www.w3.org/1999/xhtml\">spec</a></html>");
        var written = Scan("<html xmlns=\"http://www.w3.org/1999/xhtml\"><p>see http://www.w3.org/1999/xhtml</p></html>");

        Assert.Equal(["http://www.w3.org/1999/xhtml"], linked.Urls);
        Assert.Equal(["http://www.w3.org/1999/xhtml"], written.Urls);
        Assert.Equal(["www.w3.org"], written.Domains);
    }

    // ---------------------------------------------------------------- one URL per link

    [Theory]
    [InlineData("<a href=\"http://x.example/a[1]\">go</a>", "http://x.example/a[1]")]
    [InlineData("<a href=\"http://x.example#top\">go</a>", "http://x.example#top")]
    [InlineData("<a href=\"http://x.example/p q\">go</a>", "http://x.example/p%20q")]
    [InlineData("<a href=\"http://x.example/very/\r\nlong/path\">go</a>", "http://x.example/very/long/path")]
    [InlineData("<a href=\" http://x.example/t\t\">go</a>", "http://x.example/t")]
    [InlineData("<a href=\"http://x.example/a/b\">http://x.example/a/\nb</a>", "http://x.example/a/b")]
    public void A_link_gives_one_url_and_no_cut_copies(string html, string url)
    {
        Assert.Equal([url], Scan(html).Urls);
    }

    [Fact]
    public void A_url_inside_a_non_http_link_is_still_found()
    {
        Assert.Equal(["http://evil.example/x"], Scan("<a href=\"javascript:open('http://evil.example/x')\">x</a>").Urls);
    }

    [Fact]
    public void Link_text_that_is_another_url_is_found_as_well()
    {
        Assert.Equal(
            ["https://evil.example/login", "https://bank.example/login"],
            Scan("<a href=\"https://evil.example/login\">https://bank.example/login</a>").Urls);
    }

    // ---------------------------------------------------------------- ends of URLs in text

    [Theory]
    [InlineData("see http://x.example/a.", "http://x.example/a")]
    [InlineData("see http://x.example/a, then", "http://x.example/a")]
    [InlineData("see http://x.example/a; then", "http://x.example/a")]
    [InlineData("at http://x.example/a: then", "http://x.example/a")]
    [InlineData("go http://x.example/a!", "http://x.example/a")]
    [InlineData("really http://x.example/a?", "http://x.example/a")]
    [InlineData("quoted \u201Chttp://x.example/a\u201D.", "http://x.example/a")]
    [InlineData("said \u00ABhttp://x.example/a\u00BB", "http://x.example/a")]
    [InlineData("http://x.example/a?q=1.", "http://x.example/a?q=1")]
    [InlineData("http://x.example/wiki/A_(b)", "http://x.example/wiki/A_(b)")]
    [InlineData("http://x.example/wiki/A_(b).", "http://x.example/wiki/A_(b)")]
    [InlineData("http://x.example/a;jsessionid=12", "http://x.example/a;jsessionid=12")]
    public void Trailing_sentence_punctuation_and_unbalanced_closers_are_not_part_of_a_url(string text, string url)
    {
        Assert.Equal([url], Scan(text).Urls);
    }

    [Theory]
    [InlineData("<style>td{background:url(http://x.example/y.png);}</style>")]
    [InlineData("<div style=\"background:url(http://x.example/y.png);color:red\">a</div>")]
    [InlineData("css http://x.example/y.png);background:red")]
    [InlineData("css http://x.example/y.png;background-image:none")]
    public void Css_glued_to_a_url_is_cut_off(string text)
    {
        Assert.Equal(["http://x.example/y.png"], Scan(text).Urls);
    }

    [Fact]
    public void Css_after_a_bracketed_run_is_cut_off()
    {
        Assert.Equal(["http://x.example/a(1)"], Scan("http://x.example/a(1);background:url(b.png)").Urls);
    }

    [Theory]
    [InlineData("http://x.example/lo&#16;gin", "http://x.example/lo%10gin")]
    [InlineData("<a href=\"http://x.example/lo&#16;gin\">x</a>", "http://x.example/lo%10gin")]
    [InlineData("http://x.example/a\u0085b", "http://x.example/a")]
    [InlineData("http://x.example/a\u0080b", "http://x.example/a%C2%80b")]
    public void Control_characters_in_a_url_are_percent_encoded(string text, string url)
    {
        Assert.Equal([url], Scan(text).Urls);
    }

    [Fact]
    public void Message_text_keeps_its_links_and_declarations_apart()
    {
        var email = TestMail.Process(Html(
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">" +
            "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><a href=\"https://evil.example/p?a=1&amp;b=2#frag\">Pay now</a>.</body></html>"));

        Assert.Equal(["https://evil.example/p?a=1&b=2#frag"], email.Urls());
        Assert.Equal(["evil.example"], email.Domains());
    }

    // ---------------------------------------------------------------- parts

    [Fact]
    public void An_external_body_placeholder_is_not_vaulted()
    {
        var email = TestMail.Process(Mixed(
            "Content-Type: message/external-body; access-type=URL; URL=\"http://files.example/f.bin\"",
            "Content-Type: application/octet-stream\nContent-ID: <f@example>\n\nphantom body, not the file"));

        Assert.Empty(email.Named("Vault Artifact"));
        Assert.Empty(email.VaultFiles);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("text; charset=utf-8")]
    [InlineData("text/")]
    [InlineData("text/@@")]
    public void A_text_part_without_a_usable_subtype_is_read_as_text(string contentType)
    {
        var email = TestMail.Process(Mixed($"Content-Type: {contentType}", "visit http://body.example/p"));

        Assert.Equal(["http://body.example/p"], email.Urls());
        Assert.Empty(email.Named("Vault Artifact"));
    }

    [Fact]
    public void A_broken_text_type_as_the_whole_message_is_its_body()
    {
        var email = TestMail.Process("From: a@example.com\nTo: b@example.org\nSubject: s\nContent-Type: text\n\nvisit http://body.example/p\n");

        Assert.Equal(["http://body.example/p"], email.Urls());
        Assert.Empty(email.Named("Vault Artifact"));
    }

    // ---------------------------------------------------------------- file names

    [Theory]
    [InlineData("invoice\u202Egpj.exe", "invoice_gpj.exe")]
    [InlineData("a\u2066b\u2069.pdf", "a_b_.pdf")]
    [InlineData("x\u200E\u200F\u061C.txt", "x___.txt")]
    [InlineData("line\u2028para\u2029.doc", "line_para_.doc")]
    public void Display_spoofing_characters_in_a_file_name_are_replaced(string name, string safe)
    {
        Assert.Equal(safe, FileRules.SafeName(name, 1));
    }

    [Fact]
    public void A_spoofed_attachment_name_keeps_the_original_and_notes_an_issue()
    {
        var email = TestMail.Process(Mixed(
            "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEgpj.exe",
            "TVqQAAMAAAAEAAAA"));

        var vault = Assert.Single(email.Named("Vault Artifact"));
        Assert.Equal("invoice_gpj.exe", vault.Cef["fileName"]!.ToString());
        Assert.Equal("invoice\u202Egpj.exe", vault.Cef["originalFileName"]!.ToString());
        Assert.Contains(email.Issues, i => i.Code == IssueCodes.FileNameSpoofing);
        var status = Assert.Single(email.Named("Email Ingestion Status"));
        Assert.Contains(status.Cef["ingestionIssues"]!.AsArray(), i => i!.ToString().StartsWith("file_name_spoofing: ", StringComparison.Ordinal));
        Assert.Null(status.Cef["attachmentIngestionStatus"]);
    }

    [Fact]
    public void An_ordinary_attachment_name_notes_no_issue()
    {
        var email = TestMail.Process(Mixed("Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"r\u00E9sum\u00E9.pdf\"", "JVBERi0x"));

        Assert.Null(Assert.Single(email.Named("Vault Artifact")).Cef["originalFileName"]);
        Assert.Empty(email.Issues);
    }
}
