using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ImapActors.Domain;

namespace ImapActors.Extraction.Tests;

/// <summary>Indicators an attacker tries to hide from the scanners, and where the scan budget goes.</summary>
public class EvasionTests
{
    [Fact]
    public void Indicators_inside_opaque_signed_smime_are_found_and_the_blob_is_still_vaulted()
    {
        var inner = "Content-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n" +
            "Log in at https://signed-inside.example/login now\r\n--x\r\nContent-Type: text/html\r\n\r\n" +
            "<a href=\"https://signed-html.example/a\">here</a>\r\n--x--\r\n";
        var blob = Sign(Encoding.ASCII.GetBytes(inner));
        var message = "From: a@example.com\r\nSubject: signed\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n" +
            "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n" +
            Convert.ToBase64String(blob, Base64FormattingOptions.InsertLineBreaks) + "\r\n";

        var email = TestMail.Process(Encoding.ASCII.GetBytes(message));

        Assert.Contains("https://signed-inside.example/login", email.Urls());
        Assert.Contains("https://signed-html.example/a", email.Urls());
        Assert.Contains("signed-inside.example", email.Domains());
        Assert.Contains("smime.p7m", email.Values("Vault Artifact", "fileName"));
        Assert.Empty(email.Issues);
    }

    [Fact]
    public void A_pkcs7_part_that_is_not_signed_data_is_only_vaulted()
    {
        var message = "From: a@example.com\r\nSubject: enveloped\r\n" +
            "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n" +
            "Content-Transfer-Encoding: base64\r\n\r\n" + Convert.ToBase64String(new byte[300]) + "\r\n";
        var email = TestMail.Process(Encoding.ASCII.GetBytes(message));
        Assert.Contains("smime.p7m", email.Values("Vault Artifact", "fileName"));
        Assert.Contains(IssueCodes.PartFailed, email.Issues.Select(i => i.Code));
    }

    [Fact]
    public void The_first_line_of_a_body_longer_than_the_budget_is_scanned()
    {
        var limits = new ExtractionLimits { MaxScannedTextBytes = 1 << 20 };
        var body = "https://first-line.example/a\n" + string.Concat(Enumerable.Repeat("filler without indicators.\n", (2 << 20) / 27));
        var email = TestMail.Process(TestMail.Plain(body), ExtractionSettings.Default with { Limits = limits });
        Assert.Contains("https://first-line.example/a", email.Urls());
        Assert.Contains(IssueCodes.ScannedTextLimit, email.Issues.Select(i => i.Code));
    }

    [Fact]
    public void A_filler_part_cannot_use_up_the_budget_of_the_parts_after_it()
    {
        var limits = new ExtractionLimits { MaxScannedTextBytes = 1 << 20 };
        var filler = string.Concat(Enumerable.Repeat("filler without indicators.\n", (1 << 20) / 27));
        var parts = string.Concat(Enumerable.Range(0, 4).Select(i => $"--b\nContent-Type: text/plain\n\n{i} {filler}"));
        var message = $"From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n{parts}--b\nContent-Type: text/plain\n\n" +
            "https://after-fillers.example/x\n--b--\n";
        var email = TestMail.Process(message, ExtractionSettings.Default with { Limits = limits });
        Assert.Contains("https://after-fillers.example/x", email.Urls());
    }

    [Fact]
    public void A_tnef_part_that_ends_too_soon_is_an_issue_of_the_message_not_a_storage_failure()
    {
        // Found by the fuzzer: the TNEF reader's EndOfStreamException is an IOException, which callers retry as a
        // storage failure, so the email could never be ingested.
        var tnef = new byte[] { 0x78, 0x9F, 0x3E, 0x22, 0x1B, 0x0D, 0x01, 0x06, 0x90, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00 };
        var message = "From: a@example.com\r\nSubject: tnef\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
            "Content-Type: text/plain\r\n\r\nhttps://before-tnef.example/x\r\n--b\r\n" +
            "Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Convert.ToBase64String(tnef) + "\r\n--b--\r\n";
        var email = TestMail.Process(Encoding.ASCII.GetBytes(message));
        Assert.Contains("https://before-tnef.example/x", email.Urls());
        Assert.Contains(IssueCodes.PartFailed, email.Issues.Select(i => i.Code));
    }

    private static byte[] Sign(byte[] content)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=sender.example", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var cms = new SignedCms(new ContentInfo(content), detached: false);
        cms.ComputeSignature(new CmsSigner(cert));
        return cms.Encode();
    }
}
