using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Text;

namespace ImapActors.Cli.Samples;

/// <summary>
/// Generates realistic phishing-report emails for the quickstart, the integration tests and the benchmarks: links,
/// IPs, hashes, attachments and reports that forward the phish as an attached or inline message. Deterministic for a
/// given seed, and every message has its own Message-ID.
/// </summary>
public sealed class SampleMail(int seed)
{
    private static readonly string[] Brands = ["micros0ft-login", "paypa1-secure", "dhl-parcel-track", "office365-verify", "bank-0f-example"];
    private static readonly string[] Reporters = ["alice", "bob", "carol", "dave", "erin", "frank"];
    private readonly Random _random = new(seed);

    /// <summary>The kinds, cycled by <see cref="Make(int, int)"/>.</summary>
    public enum Kind
    {
        Phish,
        WithAttachment,
        ForwardedAsAttachment,
        ForwardedInline,
        Plain,
    }

    /// <summary>Message <paramref name="n"/> of a sequence: the kind cycles so every run shows each of them.</summary>
    public byte[] Make(int n, int padToBytes = 0) => Make((Kind)(n % 5), n, padToBytes);

    public byte[] Make(Kind kind, int n, int padToBytes = 0, int pdfBytes = 0)
    {
        var message = kind switch
        {
            Kind.Phish => Phish(n),
            Kind.WithAttachment => WithAttachment(n, pdfBytes > 0 ? pdfBytes : 2048),
            Kind.ForwardedAsAttachment => ForwardedAsAttachment(n),
            Kind.ForwardedInline => ForwardedInline(n),
            _ => Plain(n),
        };
        if (pdfBytes > 0 && kind != Kind.WithAttachment)
        {
            message = AddAttachment(message, Pdf(pdfBytes, n), "report-" + n + ".pdf", "application", "pdf");
        }

        var bytes = ToBytes(message);
        if (padToBytes > bytes.Length)
        {
            message = Pad(message, padToBytes - bytes.Length);
            bytes = ToBytes(message);
        }

        return bytes;
    }

    private MimeMessage Phish(int n)
    {
        var brand = Pick(Brands);
        var ip = $"203.0.113.{1 + (n % 250)}";
        var message = Header(n, $"Action required: verify your account #{n}", $"security@{brand}.example");
        var url = $"https://{brand}.example/verify?session={Hex(8)}&user={n}";
        var html = $"<html><body><p>Dear customer,</p><p>Your mailbox will be closed. <a href=\"{url}\">Verify now</a>.</p>" +
                   $"<p>Login attempt from {ip} was blocked.</p><img src=\"https://cdn.{brand}.example/logo.png\"></body></html>";
        var text = $"Dear customer,\nYour mailbox will be closed. Verify now: {url}\nLogin attempt from {ip} was blocked.\n";
        message.Body = new MultipartAlternative
        {
            new TextPart(TextFormat.Plain) { Text = text },
            new TextPart(TextFormat.Html) { Text = html },
        };
        return message;
    }

    private MimeMessage WithAttachment(int n, int pdfBytes)
    {
        var message = Header(n, $"Invoice {10000 + n} overdue", $"billing@{Pick(Brands)}.example");
        var body = new TextPart(TextFormat.Plain)
        {
            Text = $"Please find the overdue invoice attached. Payment portal: http://pay.{Pick(Brands)}.example/inv/{n}\n" +
                   $"Reference hash: {Hex(32)}\n",
        };
        message.Body = new Multipart("mixed") { body };
        return AddAttachment(message, Pdf(pdfBytes, n), $"invoice-{10000 + n}.pdf", "application", "pdf");
    }

    private MimeMessage ForwardedAsAttachment(int n)
    {
        var original = Phish(n + 100_000);
        original.Headers.Add("Received", $"from mail.{Pick(Brands)}.example ([198.51.100.{n % 250}]) by mx.example.org; {DateTimeOffset.UtcNow:R}");
        var reporter = Pick(Reporters);
        var report = Header(n, $"FW: {original.Subject}", $"{reporter}@corp.example");
        report.To.Clear();
        report.To.Add(MailboxAddress.Parse("phishing-report@corp.example"));
        report.Body = new Multipart("mixed")
        {
            new TextPart(TextFormat.Plain) { Text = "This looks like phishing, see the attached message.\n" },
            new MessagePart { Message = original, ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) },
        };
        return report;
    }

    private MimeMessage ForwardedInline(int n)
    {
        var reporter = Pick(Reporters);
        var brand = Pick(Brands);
        var message = Header(n, $"Fwd: Your parcel is waiting #{n}", $"{reporter}@corp.example");
        message.Body = new TextPart(TextFormat.Plain)
        {
            Text = "Reporting this one.\n\n---------- Forwarded message ---------\n" +
                   $"From: DHL Express <noreply@{brand}.example>\nDate: {DateTimeOffset.UtcNow:R}\n" +
                   $"Subject: Your parcel is waiting #{n}\nTo: {reporter}@corp.example\n" +
                   $"Message-ID: <fwd-{n}-{Hex(6)}@{brand}.example>\n\n" +
                   $"Pay the customs fee at https://{brand}.example/pay/{Hex(6)} from 2001:db8::{n % 9999:x} or 192.0.2.{n % 250}.\n",
        };
        return message;
    }

    private MimeMessage Plain(int n)
    {
        var message = Header(n, $"Question about the report #{n}", $"{Pick(Reporters)}@corp.example");
        message.Body = new TextPart(TextFormat.Plain) { Text = $"Is this safe? It mentions file {Hex(64)} and host files.{Pick(Brands)}.example.\n" };
        return message;
    }

    private MimeMessage Header(int n, string subject, string from)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse("soc@corp.example"));
        message.Subject = subject;
        message.MessageId = $"sample-{seed}-{n}-{Hex(8)}@imapactors.example";
        message.Date = new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero).AddMinutes(n);
        return message;
    }

    private static MimeMessage AddAttachment(MimeMessage message, byte[] content, string name, string mediaType, string subtype)
    {
        var attachment = new MimePart(mediaType, subtype)
        {
            Content = new MimeContent(new MemoryStream(content)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = name,
        };
        if (message.Body is Multipart { ContentType.MediaSubtype: "mixed" } mixed)
        {
            mixed.Add(attachment);
        }
        else
        {
            message.Body = new Multipart("mixed") { message.Body!, attachment };
        }

        return message;
    }

    private static MimeMessage Pad(MimeMessage message, int bytes)
    {
        var padding = new StringBuilder();
        var line = 0;
        while (padding.Length < bytes)
        {
            padding.Append("Padding line ").Append(line++).Append(": lorem ipsum dolor sit amet, consectetur adipiscing elit.\n");
        }

        var part = new TextPart(TextFormat.Plain) { Text = padding.ToString(0, Math.Max(0, bytes - 200)) };
        if (message.Body is Multipart mixed)
        {
            mixed.Add(part);
        }
        else
        {
            message.Body = new Multipart("mixed") { message.Body!, part };
        }

        return message;
    }

    /// <summary>A small valid PDF, padded with a stream of incompressible bytes to the requested size.</summary>
    private byte[] Pdf(int bytes, int n)
    {
        var head = Encoding.ASCII.GetBytes($"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% invoice {n}\n");
        var tail = Encoding.ASCII.GetBytes("\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        var filler = new byte[Math.Max(0, bytes - head.Length - tail.Length)];
        _random.NextBytes(filler);
        return [.. head, .. filler, .. tail];
    }

    private string Pick(string[] items) => items[_random.Next(items.Length)];

    private string Hex(int bytes)
    {
        var b = new byte[bytes];
        _random.NextBytes(b);
        return Convert.ToHexStringLower(b);
    }

    private static byte[] ToBytes(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(FormatOptions.Default, stream);
        return stream.ToArray();
    }

    /// <summary>A fresh random seed for callers that want different mail on every run.</summary>
    public static int RandomSeed() => RandomNumberGenerator.GetInt32(int.MaxValue);
}
