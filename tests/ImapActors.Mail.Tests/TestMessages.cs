using System.Globalization;
using System.Text;

namespace ImapActors.Mail.Tests;

/// <summary>Small RFC 822 messages with CRLF line endings, so IMAP round trips are byte-identical.</summary>
internal static class TestMessages
{
    public static byte[] Small(int n, string? subject = null) => Encoding.ASCII.GetBytes(
        "From: Reporter <reporter@example.com>\r\n"
        + "To: soc@example.com\r\n"
        + $"Subject: {subject ?? "Suspicious message " + n.ToString(CultureInfo.InvariantCulture)}\r\n"
        + "Date: Tue, 01 Apr 2025 10:00:00 +0000\r\n"
        + $"Message-ID: <m{n.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}@example.com>\r\n"
        + "MIME-Version: 1.0\r\n"
        + "Content-Type: text/plain; charset=us-ascii\r\n"
        + "\r\n"
        + $"Please look at http://phish{n.ToString(CultureInfo.InvariantCulture)}.example.net/login\r\n");

    /// <summary>A message with a base64 attachment of about <paramref name="approximateBytes"/> bytes.</summary>
    public static byte[] Large(int approximateBytes)
    {
        var random = new Random(42);
        var payload = new byte[approximateBytes * 3 / 4];
        random.NextBytes(payload);
        var b64 = Convert.ToBase64String(payload, Base64FormattingOptions.InsertLineBreaks);
        var text = "From: reporter@example.com\r\n"
            + "To: soc@example.com\r\n"
            + "Subject: Large attachment\r\n"
            + $"Message-ID: <large.{Guid.NewGuid():N}@example.com>\r\n"
            + "MIME-Version: 1.0\r\n"
            + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
            + "\r\n"
            + "--b1\r\n"
            + "Content-Type: text/plain\r\n"
            + "\r\n"
            + "See attachment.\r\n"
            + "--b1\r\n"
            + "Content-Type: application/octet-stream; name=\"blob.bin\"\r\n"
            + "Content-Transfer-Encoding: base64\r\n"
            + "Content-Disposition: attachment; filename=\"blob.bin\"\r\n"
            + "\r\n"
            + b64 + "\r\n"
            + "--b1--\r\n";
        return Encoding.ASCII.GetBytes(text);
    }
}
