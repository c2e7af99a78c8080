using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;

namespace ImapActors.Storage.Tests;

/// <summary>
/// Containers that exercise every branch of the SOAR JSON rendering (UTF-8 and Latin-1 raw emails, a raw email missing
/// from the vault, long raw emails and header lists for <c>--brief</c>, null Message-ID, cef_types and node, non-ASCII
/// text), committed with a fixed clock. The files under <c>Expected/</c> are what <c>imapactors containers</c> printed
/// for them before the rendering moved out of the CLI, with the node each container records added since.
/// </summary>
internal static class SoarJsonFixture
{
    /// <summary>The clock of every commit, with sub-millisecond ticks so their round trip shows in the output.</summary>
    public static readonly DateTimeOffset CreatedAt = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_567);

    /// <summary>Commits the fixture's emails into <paramref name="store"/>, their raw bytes into <paramref name="vault"/>.</summary>
    public static async Task<IReadOnlyList<CommitResult>> SeedAsync(IContainerStore store, IVault vault)
    {
        var emails = new List<EmailToCommit>();
        var utf8 = Encoding.UTF8.GetBytes(
            "Subject: =?UTF-8?Q?R=C3=A9union?=\r\nMessage-ID: <r\u00e9union@example.org>\r\n\r\n" +
            string.Concat(Enumerable.Range(0, 40).Select(i => $"Ligne {i}: caf\u00e9 \U0001F4C5 <b>&amp;</b> \"quoted\" \\ back\r\n")));
        emails.Add(Email(vault, 1, "INBOX", utf8, "R\u00e9union \U0001F4C5 <urgent> & \"quoted\"", "<r\u00e9union@example.org>", "imap",
            [
                new("Email Artifact", new JsonObject
                {
                    ["fromEmail"] = "\u043f\u043e\u043b\u044c\u0437\u043e\u0432\u0430\u0442\u0435\u043b\u044c@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
                    ["emailHeaders"] = new JsonObject { ["Subject"] = "R\u00e9union", ["Received"] = new JsonArray("a", "b"), ["X-Null"] = null },
                    ["headers"] = new JsonObject { ["To"] = "soc@example.org" },
                    ["bodyText"] = "line1\r\nline2\ttab \u0001 <script>",
                }, new JsonObject { ["fromEmail"] = new JsonArray("email") }, true, "sdi-e1"),
                new("URL Artifact", new JsonObject { ["requestURL"] = "http://\u4f8b\u3048.jp/?a=1&b=<2>" }, null, false, "sdi-u1"),
                new("Email Attachment Artifact", new JsonObject { ["emailHeaders"] = "not an object", ["size"] = 12.5 }, null, false, "sdi-a1"),
            ],
            [
                new(Vault("f1"), "r\u00e9sum\u00e9 \U0001F4CE.pdf", 123_456, new string('a', 64), new string('b', 32)),
                new(Vault("f2"), "plain.txt", 0, new string('c', 64), new string('d', 32)),
            ]));

        // Not valid UTF-8 (a bare 0xE9): rendered as Latin-1.
        var latin1 = Encoding.Latin1.GetBytes("Subject: caf\u00e9\r\n\r\nd\u00e9j\u00e0 vu");
        emails.Add(Email(vault, 2, "INBOX", latin1, "caf\u00e9", null, "imap", [], []));

        // Its raw email is not in the vault: data.raw_email is null.
        emails.Add(Email(vault: null, 3, "Reported/\u00dcn\u00efcode", Encoding.UTF8.GetBytes("Subject: gone\r\n\r\ngone"),
            "gone", "<gone@example.org>", "phishing",
            [new("Domain Artifact", new JsonObject { ["destinationDnsDomain"] = "\u4f8b\u3048.jp" }, null, false, "sdi-d3")], []));

        // A long, multi-line name and Message-ID (clipped in the table), a short raw email, more artifacts than one INSERT holds.
        var long4 = Encoding.UTF8.GetBytes("Subject: long\r\n\r\nshort body");
        emails.Add(Email(vault, 4, "INBOX", long4,
            "Fwd: a very long subject line\r\nthat goes on and on, well past the fifty characters of the table", 
            "<a-very-long-message-identifier-that-is-clipped@mail.example.org>", "imap",
            [.. Enumerable.Range(0, 20).Select(i => new Artifact(
                $"IP Artifact {i:00}", new JsonObject { ["sourceAddress"] = $"192.0.2.{i}", ["n"] = i }, i % 2 == 0 ? new JsonObject { ["sourceAddress"] = new JsonArray("ip") } : null,
                i % 3 == 0, $"sdi-ip-{i}"))],
            [new(Vault("f4"), "a.txt", 3, new string('e', 64), new string('f', 32))]));

        // Exactly 300 characters of raw email: --brief leaves it whole.
        var exact = Encoding.UTF8.GetBytes("Subject: edge\r\n\r\n" + new string('x', 300 - 17));
        emails.Add(Email(vault, 5, "INBOX", exact, "edge", "<edge@example.org>", "imap", [], []));

        // Two nodes of a cluster made these, and container 3 stands for one stored before nodes were recorded.
        string?[] nodes = ["10.0.0.11:4053", "engine-2.internal:4053", null, "10.0.0.11:4053", "10.0.0.11:4053"];
        return await store.CommitAsync([.. emails.Select((e, i) => e with { Node = nodes[i] })], CancellationToken.None);
    }

    private static EmailToCommit Email(IVault? vault, uint uid, string folder, byte[] raw, string name, string? messageId, string label,
        Artifact[] artifacts, VaultFile[] files)
    {
        var stored = vault?.Store(new MemoryStream(raw), "raw.eml");
        var source = new EmailSource(new AssetName("phish"), new FolderName(folder), uid, 11, DateTimeOffset.UnixEpoch.AddDays(uid));
        var container = new EmailContainer
        {
            Name = name,
            SourceDataIdentifier = $"{folder} : {uid}",
            Label = label,
            Source = source,
            MessageId = messageId,
            Date = new DateTimeOffset(2024, 1, 1, 9, 0, 0, TimeSpan.FromHours(-5)),
            RawSha256 = Convert.ToHexStringLower(SHA256.HashData(raw)),
            RawSize = raw.Length,
        };
        return new EmailToCommit(new ProcessedEmail(container, artifacts, files, []), stored?.VaultId ?? Vault("missing" + uid));
    }

    private static VaultId Vault(string seed) => new(Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed))));
}

/// <summary>A clock that always says <see cref="Now"/>.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
