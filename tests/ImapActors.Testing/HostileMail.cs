using System.Text;

namespace ImapActors.Testing;

/// <summary>
/// Hand-made hostile emails, one per attack class, written straight to a file so that a 200 MB case costs the test
/// process no memory. Each case names the ingestion issue the engine must record for it (null when the message is
/// within every limit and only its cost is bounded) and, when the attack is about hiding one, the indicator that must
/// still be found.
/// </summary>
public sealed record HostileCase(string Name, string? Issue, string? Indicator, Action<Stream> Write)
{
    public override string ToString() => Name;

    /// <summary>Writes the case to <paramref name="path"/> and returns its size in bytes.</summary>
    public long WriteTo(string path)
    {
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Write(file);
        }

        return new FileInfo(path).Length;
    }
}

/// <summary>The hostile cases of docs/hostile-input.md.</summary>
public static class HostileMail
{
    private const int MB = 1 << 20;

    public static IReadOnlyList<HostileCase> All { get; } =
    [
        new("subject-64mb", "limit_header_field", "https://after-subject.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: ");
            Repeat(s, "A", 64 * MB);
            Text(s, "\r\n\r\nbody https://after-subject.example/x\r\n");
        }),
        new("folded-header-16mb", "limit_header_field", null, s =>
        {
            Text(s, "From: a@example.com\r\nX-Folded: a\r\n");
            Repeat(s, " abc\r\n", 16 * MB / 6);
            Text(s, "Subject: folded\r\n\r\nbody\r\n");
        }),
        new("nul-from-40mb", "limit_header_field", null, s =>
        {
            Text(s, "From: ");
            Repeat(s, "\0", 40 * MB);
            Text(s, "\r\nSubject: nul\r\n\r\nbody\r\n");
        }),
        new("idna-mailto-95", null, null, s =>
        {
            Text(s, "From: a@example.com\r\nSubject: idna\r\nContent-Type: text/html; charset=utf-8\r\n\r\n");
            var label = new StringBuilder(40_000);
            for (var i = 0; i < 40_000; i++)
            {
                label.Append((char)(0x4E00 + i));
            }

            for (var i = 0; i < 95; i++)
            {
                Text(s, $"<a href=\"mailto:x{i}@{label}.com\">x</a>\r\n");
            }
        }),
        new("rfc2231-200k", "limit_header_field", "https://before-attachment.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: continuations\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n");
            Text(s, "Content-Type: text/plain\r\n\r\nhttps://before-attachment.example/x\r\n--b\r\n");
            Text(s, "Content-Type: application/octet-stream\r\nContent-Disposition: attachment");
            for (var i = 0; i < 200_000; i++)
            {
                Text(s, $";\r\n filename*{i}=\"p{i % 10}\"");
            }

            Text(s, "\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n");
        }),
        new("empty-parts-2m", "limit_parts", "https://first-part.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\nhttps://first-part.example/x\r\n");
            Repeat(s, "--b\r\n\r\n", 2_000_000);
            Text(s, "--b--\r\n");
        }),
        new("boundary-never-200mb", "limit_preamble", "https://in-preamble.example/", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: no boundary\r\nContent-Type: multipart/mixed; boundary=never\r\n\r\n");
            Repeat(s, "filler line that is never a boundary https://in-preamble.example/\r\n", 200 * MB / 64);
        }),
        new("tiny-headers-2m", "limit_headers", null, s =>
        {
            Text(s, "From: a@example.com\r\nSubject: tiny headers\r\n");
            Repeat(s, "X:\r\n", 2_000_000);
            Text(s, "\r\nbody\r\n");
        }),
        new("epilogue-200mb", "limit_preamble", "https://before-epilogue.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: epilogue\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\nhttps://before-epilogue.example/x\r\n--b--\r\n");
            Repeat(s, "epilogue filler line, never read by anyone at all, sixty-four\r\n", 200 * MB / 64);
        }),
        new("tnef-150mb", "limit_buffered_part", "https://before-tnef.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: tnef\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\nhttps://before-tnef.example/x\r\n--b\r\n");
            Text(s, "Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            // The TNEF signature, a legacy key, then one message-level attribute (attBody) 150 MB long.
            var length = BitConverter.GetBytes(150 * MB - 20);
            var head = new byte[] { 0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00, 0x01, 0x0C, 0x80, 0x01, 0x00, length[0], length[1], length[2], length[3] };
            Base64(s, head, 150 * MB);
            Text(s, "\r\n--b--\r\n");
        }),
        new("rfc822-base64-200mb", "limit_scanned_text", "https://inner.example/y", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: wrapped\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\nhttps://before-wrapped.example/x\r\n--b\r\n");
            Text(s, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n");
            var inner = Encoding.ASCII.GetBytes("From: b@example.com\r\nSubject: inner\r\n\r\nhttps://inner.example/y\r\n");
            Base64(s, inner, 200 * MB, filler: (byte)'x');
            Text(s, "\r\n--b--\r\n");
        }),
        new("first-line-of-16mb", "limit_scanned_text", "https://first-line.example/phish", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: long body\r\nContent-Type: text/plain\r\n\r\n");
            Text(s, "https://first-line.example/phish\r\n");
            Repeat(s, "filler text without any indicator in it at all, sixty-four ch.\r\n", 16 * MB / 64 + 1);
        }),
        new("after-9mb-filler", "limit_scanned_text", "https://after-filler.example/phish", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: filler\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n");
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\n");
            Repeat(s, "filler text without any indicator in it at all, sixty-four ch.\r\n", 9 * MB / 64);
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\n");
            Repeat(s, "filler text without any indicator in it at all, sixty-four ch.\r\n", 9 * MB / 64);
            Text(s, "--b\r\nContent-Type: text/plain\r\n\r\nhttps://after-filler.example/phish\r\n--b--\r\n");
        }),
        new("broken-encoded-words-9x256k", "limit_header_field", "https://after-words.example/x", s =>
        {
            // "=?" that start no encoded word: MimeKit's decoder looks for the end of each up to the end of the value.
            Text(s, "From: a@example.com\r\n");
            foreach (var field in new[] { "Subject", "X-A", "X-B", "X-C", "X-D", "X-E", "X-F", "X-G", "X-H" })
            {
                Text(s, $"{field}: x\r\n");
                Repeat(s, " =?utf-8?q?_https=3A/\r\n", 256 * 1024 / 23 + 1);
            }

            Text(s, "\r\nbody https://after-words.example/x\r\n");
        }),
        new("utf7-body", null, "http://evil.example/login", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: utf-7\r\nContent-Type: text/plain; charset=utf-7\r\n\r\n");
            Text(s, "Visit http+ADo-//evil.example/login today\r\n");
        }),
        new("utf16be-no-bom", null, "https://utf16.example/x", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: utf-16\r\nContent-Type: text/plain; charset=utf-16\r\n");
            Text(s, "Content-Transfer-Encoding: base64\r\n\r\n");
            Text(s, Convert.ToBase64String(Encoding.BigEndianUnicode.GetBytes("Go to https://utf16.example/x now\r\n")) + "\r\n");
        }),
        new("math-alphanumeric-domain", null, "wakeup-bank.com", s =>
        {
            Text(s, "From: a@example.com\r\nSubject: math\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
            Text(s, "click https://\U0001D6A0\U0001D68A\U0001D694\U0001D68E\U0001D69E\U0001D699-\U0001D68B\U0001D68A\U0001D697\U0001D694.com/x\r\n");
        }),
        new("smime-opaque-signed", null, "https://signed-inside.example/login", s =>
        {
            var inner = Encoding.ASCII.GetBytes("Content-Type: text/plain\r\n\r\nLog in at https://signed-inside.example/login\r\n");
            using var key = System.Security.Cryptography.RSA.Create(2048);
            var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=sender.example", key,
                System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var cms = new System.Security.Cryptography.Pkcs.SignedCms(new System.Security.Cryptography.Pkcs.ContentInfo(inner), detached: false);
            cms.ComputeSignature(new System.Security.Cryptography.Pkcs.CmsSigner(cert));
            Text(s, "From: a@example.com\r\nSubject: signed\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n");
            Text(s, "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n");
            Text(s, Convert.ToBase64String(cms.Encode(), Base64FormattingOptions.InsertLineBreaks) + "\r\n");
        }),
    ];

    public static void Text(Stream s, string text) => s.Write(Encoding.UTF8.GetBytes(text));

    /// <summary>Writes <paramref name="unit"/> <paramref name="times"/> times, in blocks so that it stays fast.</summary>
    public static void Repeat(Stream s, string unit, int times)
    {
        var one = Encoding.UTF8.GetBytes(unit);
        var perBlock = Math.Max(1, (1 << 16) / one.Length);
        var block = new byte[perBlock * one.Length];
        for (var i = 0; i < perBlock; i++)
        {
            one.CopyTo(block, i * one.Length);
        }

        var left = times;
        while (left > 0)
        {
            var n = Math.Min(left, perBlock);
            s.Write(block, 0, n * one.Length);
            left -= n;
        }
    }

    /// <summary>Base64 of <paramref name="head"/> followed by <paramref name="filler"/> bytes up to <paramref name="total"/> bytes, in 76-column lines.</summary>
    public static void Base64(Stream s, byte[] head, long total, byte filler = 0x41)
    {
        // 57 input bytes make one 76-character line; the head is padded with filler to whole lines, and every line after
        // it is the same.
        var first = new byte[(head.Length + 56) / 57 * 57];
        Array.Fill(first, filler);
        head.CopyTo(first, 0);
        for (var i = 0; i < first.Length; i += 57)
        {
            Text(s, Convert.ToBase64String(first, i, 57) + "\r\n");
        }

        var line = new byte[57];
        Array.Fill(line, filler);
        var lines = (int)Math.Max(0, (total - first.Length + 56) / 57);
        Repeat(s, Convert.ToBase64String(line) + "\r\n", lines);
    }
}
