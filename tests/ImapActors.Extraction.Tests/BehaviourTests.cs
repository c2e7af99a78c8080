using ImapActors.Testing;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction.Internal;

namespace ImapActors.Extraction.Tests;

public class BehaviourTests
{
    [Fact]
    public void Artifact_sdi_matches_the_reference_test_vector()
    {
        var dict = new JsonObject { ["cef"] = new JsonObject { ["sourceAddress"] = "8.8.8.8" }, ["name"] = "IP Artifact", ["run_automation"] = false };
        Assert.Equal("847db57d79a4af3512cd546499acae69", CanonicalJson.Hash(dict, fips: false));
    }

    [Fact]
    public void Canonical_json_escapes_as_python_ensure_ascii()
    {
        var node = new JsonObject { ["b"] = "é\n\u0001😀\"\\", ["a"] = 1 };
        Assert.Equal("{\"a\": 1, \"b\": \"\\u00e9\\n\\u0001\\ud83d\\ude00\\\"\\\\\"}", CanonicalJson.Serialize(node));
    }

    [Fact]
    public void Ip_artifact_sdi_is_the_reference_one()
    {
        var email = TestMail.Process(TestMail.Plain("8.8.8.8"));
        Assert.Equal("847db57d79a4af3512cd546499acae69", email.Named("IP Artifact").Single().SourceDataIdentifier);
    }

    [Fact]
    public void Container_sdi_is_md5_of_folder_and_uid_or_sha256_under_fips()
    {
        var email = TestMail.Process(TestMail.Plain("x"));
        Assert.Equal("af1cd994dfcb9286c394d142687ff5a0 : 7", email.Container.SourceDataIdentifier);
        var fips = TestMail.Process(TestMail.Plain("x"), ExtractionSettings.Default with { Fips = true });
        Assert.StartsWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("inbox"u8)), fips.Container.SourceDataIdentifier, StringComparison.Ordinal);
        Assert.Equal("label", email.Container.Label);
    }

    [Fact]
    public void Email_artifact_has_the_reference_shape()
    {
        var email = TestMail.Process("Received: from a ([1.2.3.4])\nReceived: from b\nFrom: Alice <alice@example.com>\nTo: bob@example.org\nCC: =?UTF-8?Q?Z=C3=A9?= <z@example.org>\nSubject: hi\nX-Dup: one\nx-dup: two\n\nbody\n");
        var a = email.Named("Email Artifact").Single();
        Assert.Equal(["fromEmail", "toEmail", "emailHeaders", "emailId"], a.Cef.Select(p => p.Key).ToArray());
        var h = a.Cef["emailHeaders"]!.AsObject();
        Assert.Equal(2, h["Received"]!.AsArray().Count);
        Assert.Equal("two", h["x-dup"]!.ToString());
        Assert.False(h.ContainsKey("X-Dup"));
        Assert.Equal("Zé <z@example.org>", h["decodedCC"]!.ToString());
        Assert.Equal("{\"fromEmail\":[\"email\"],\"toEmail\":[\"email\"],\"emailId\":[\"imap email id\"]}", a.CefTypes!.ToJsonString());
        Assert.True(a.RunAutomation);
    }

    [Fact]
    public void Attached_message_gives_an_email_artifact_and_is_not_vaulted()
    {
        var email = TestMail.Process("From: a@example.com\nTo: b@example.com\nSubject: outer\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nsee attached\n--B\nContent-Type: message/rfc822\n\nFrom: inner@example.net\nTo: c@example.com\nSubject: inner\n\ninner body http://inner.example.net/x\n--B--\n");
        var emails = email.Named("Email Artifact").ToList();
        Assert.Equal(2, emails.Count);
        Assert.Null(emails[1].Cef["emailId"]);
        Assert.Empty(email.VaultFiles);
        Assert.Contains("http://inner.example.net/x", email.Urls());
    }

    [Fact]
    public void Base64_encoded_attached_message_is_walked()
    {
        var inner = Convert.ToBase64String(Encoding.ASCII.GetBytes("From: inner@example.net\r\nTo: c@example.com\r\nSubject: inner\r\n\r\nhttp://b64.example.net/p\r\n"));
        var email = TestMail.Process($"From: a@example.com\nSubject: outer\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{inner}\n--B--\n");
        Assert.Equal(2, email.Named("Email Artifact").Count());
        Assert.Contains("http://b64.example.net/p", email.Urls());
    }

    [Fact]
    public void Inline_forwarded_headers_give_an_email_artifact_with_email_id()
    {
        var email = TestMail.Process(TestMail.Plain("---------- Forwarded message ---------\nFrom: Mallory <m@evil.example>\nTo: alice@example.com\nSubject: pay now\n\nplease pay"));
        var forwarded = email.Named("Email Artifact").Single(a => a.Cef["fromEmail"]!.ToString() == "Mallory <m@evil.example>");
        Assert.Equal(7, forwarded.Cef["emailId"]!.GetValue<long>());
    }

    [Fact]
    public void Vault_artifact_has_the_reference_shape_and_starts_automation()
    {
        var email = TestMail.Process("From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream; name=\"x.exe\"\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.exe\nContent-Transfer-Encoding: base64\n\nTVqQAAMAAAAEAAAA\n--B--\n");
        var v = email.Named("Vault Artifact").Single();
        Assert.Equal("résumé.exe", v.Cef["fileName"]!.ToString());
        Assert.Equal(["headers", "fileName", "vaultId", "cs6", "cs6Label", "fileHashSha256", "fileHashMd5", "fileHashSha1"], v.Cef.Select(p => p.Key).ToArray());
        Assert.Equal("{\"vaultId\":[\"pe file\",\"hash\"],\"cs6\":[\"pe file\",\"hash\"]}", v.CefTypes!.ToJsonString());
        Assert.True(v.RunAutomation);
        Assert.Single(email.Artifacts, a => a.RunAutomation);
        Assert.Equal(v.Cef["vaultId"]!.ToString(), email.VaultFiles.Single().VaultId.Value);
    }

    [Fact]
    public void Attachments_are_streamed_into_the_vault()
    {
        var dir = Path.Combine(Path.GetTempPath(), "imapactors-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var vault = new FileVault(dir);
            var payload = new byte[300_000];
            new Random(1).NextBytes(payload);
            var b64 = Convert.ToBase64String(payload, Base64FormattingOptions.InsertLineBreaks);
            var email = TestMail.Process($"From: a@example.com\nSubject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/zip\nContent-Disposition: attachment; filename=a.zip\nContent-Transfer-Encoding: base64\n\n{b64}\n--B--\n", vault: vault);
            var file = email.VaultFiles.Single();
            Assert.Equal(300_000, file.Size);
            using var stored = vault.OpenRead(file.VaultId)!;
            var copy = new MemoryStream();
            stored.CopyTo(copy);
            Assert.Equal(payload, copy.ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Extraction_switches_are_honoured()
    {
        var text = TestMail.Plain("http://x.example.com/a 8.8.8.8 d41d8cd98f00b204e9800998ecf8427e");
        var none = ExtractionSettings.Default with { ExtractUrls = false, ExtractIps = false, ExtractHashes = false, ExtractDomains = false };
        var email = TestMail.Process(text, none);
        Assert.Equal(["Email Artifact"], email.Artifacts.Select(a => a.Name).ToArray());
        var onlyDomains = TestMail.Process(text, none with { ExtractDomains = true });
        Assert.Equal(["x.example.com"], onlyDomains.Domains().ToArray());
        Assert.Empty(onlyDomains.Urls());
    }

    [Fact]
    public void Get_email_headers_keep_order_decode_words_and_keep_the_last_duplicate()
    {
        using var raw = RawEmail.FromBytes(Encoding.ASCII.GetBytes("Received: one\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nReceived: two\r\n\r\nbody"));
        var headers = EmailHeaders.TopLevel(raw);
        Assert.Equal(["Received", "Subject"], headers.Select(p => p.Key).ToArray());
        Assert.Equal("two", headers["Received"]!.ToString());
        Assert.Equal("café", headers["Subject"]!.ToString());
    }

    [Fact]
    public void Unparseable_bytes_still_give_a_container_with_a_status_artifact()
    {
        var email = TestMail.Process(new byte[] { 0, 1, 2, 0xff, 0xfe, (byte)'\n', (byte)' ', 0 });
        Assert.Equal("Email ID: 7", email.Container.Name);
        Assert.NotEmpty(email.Issues);
        var status = email.Named("Email Ingestion Status").Single();
        Assert.True(status.RunAutomation);
        Assert.NotEmpty(status.Cef["ingestionIssues"]!.AsArray());
    }

    [Fact]
    public void Empty_message_gives_a_container()
    {
        var email = TestMail.Process(Array.Empty<byte>());
        Assert.Equal("Email ID: 7", email.Container.Name);
    }

    [CorpusFact]
    public void Tnef_attachment_is_vaulted_and_unpacked()
    {
        var corpus = RepoPaths.RequiredCorpus;

        var email = TestMail.Process(File.ReadAllBytes(Path.Combine(corpus, "mimekit", "tnef__rich-text.eml")));
        Assert.Contains(email.VaultFiles, f => f.FileName == "winmail.dat");
        Assert.True(email.VaultFiles.Count > 1);
    }
}
