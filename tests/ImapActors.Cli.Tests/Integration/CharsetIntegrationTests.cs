using System.Text;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>
/// Subjects and bodies in legacy charsets, ingested by <c>run --once</c> in a process of its own. MimeKit settles which
/// charsets it knows on first use, and in this test process other tests may have registered the code pages already;
/// only a fresh engine process shows that ISO-2022-JP, EUC-KR and GB2312 are known before its first email is decoded.
/// </summary>
public sealed class CharsetIntegrationTests(ITestOutputHelper output)
{
    private static readonly (string Charset, string Subject)[] Subjects =
    [
        ("iso-2022-jp", "日本語メールテスト"),
        ("euc-kr", "한국말로 하는 것"),
        ("gb2312", "代开各地增值税发票"),
    ];

    [Fact]
    public async Task Subjects_in_legacy_charsets_are_container_names_in_a_fresh_engine_process()
    {
        // The test process needs the code pages to write the messages; the engine process has only its own.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("charsets");
        dovecot.LoadMessages(user.Name, "INBOX", Subjects.Select((s, i) => Message(i, s.Charset, s.Subject)));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);

        var (exit, stdout, stderr) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(3), "run", "--once", "--config", config);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stderr);

        var names = (await harness.ContainersAsync()).OrderBy(c => c.Uid).Select(c => c.Name).ToList();
        Assert.Equal(Subjects.Select(s => s.Subject), names);
    }

    private static byte[] Message(int n, string charset, string subject)
    {
        var encoding = Encoding.GetEncoding(charset);
        var word = $"=?{charset}?B?{Convert.ToBase64String(encoding.GetBytes(subject))}?=";
        var head = $"From: reporter@example.org\r\nTo: phish@example.org\r\nSubject: {word}\r\n" +
            $"Message-ID: <charset-{n}@example.org>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
            $"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        var body = Convert.ToBase64String(encoding.GetBytes(subject + "\r\n"), Base64FormattingOptions.InsertLineBreaks);
        return Encoding.ASCII.GetBytes(head + body + "\r\n");
    }
}
