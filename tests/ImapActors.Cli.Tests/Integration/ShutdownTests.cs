using System.Diagnostics;
using System.Text;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary><c>run</c> in a child process, stopped with SIGTERM while a batch of large emails is in flight.</summary>
public sealed class ShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sigterm_in_the_middle_of_a_batch_commits_it_prints_the_summary_and_exits_0()
    {
        const int total = 150, batch = 15;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("sigterm");
        dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(1, total).Select(n => Large(n, 512 * 1024)));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user) with { MaxEmails = total }], fetchBatchSize: batch);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);

        using var process = CliProcess.Start(env, "run", "--config", config);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();

        // The first batch's commit means the next one was fetched and is being parsed, extracted or stored.
        var deadline = DateTimeOffset.UtcNow.AddMinutes(2);
        int before;
        while ((before = (await harness.ContainersAsync()).Count) == 0)
        {
            // Awaited only on failure: standard error ends when the process does.
            if (process.HasExited)
            {
                Assert.Fail($"run ended before the signal: {await stderr}");
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"no batch committed within 2 minutes: {await stderr}");
            }

            await Task.Delay(20);
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
            Assert.Equal(0, kill.ExitCode);
        }

        var signalled = DateTimeOffset.UtcNow;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await process.WaitForExitAsync(cts.Token);
        }

        var took = DateTimeOffset.UtcNow - signalled;
        var text = await stdout;
        output.WriteLine($"SIGTERM at {before} containers; exited {process.ExitCode} after {took.TotalSeconds:0.0} s");
        output.WriteLine(text);
        output.WriteLine(await stderr);
        Assert.Equal(0, process.ExitCode);

        // The summary counts what this run fetched; every email it fetched was committed before the exit.
        var summary = Assert.Single(text.Split('\n'), l => l.StartsWith(harness.Settings.Assets[0].Name.Value + "/INBOX: ", StringComparison.Ordinal));
        var after = (await harness.ContainersAsync()).Count;
        Assert.Contains($": {after} fetched", summary, StringComparison.Ordinal);
        Assert.Contains($", {after} created,", summary, StringComparison.Ordinal);
        Assert.True(after > before, $"the batch in flight at the signal was committed ({before} before, {after} after)");
        Assert.True(after < total, $"the run stopped taking new batches ({after} of {total} ingested)");

        // Nothing is lost or duplicated: the next run takes exactly the rest.
        var (exit, rest, err) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(3), "run", "--once", "--config", config);
        Assert.True(exit == 0, err);
        output.WriteLine(rest);
        var containers = await harness.ContainersAsync();
        Assert.Equal(Enumerable.Range(1, total).Select(i => (uint)i), containers.Select(c => c.Uid).Order());
    }

    /// <summary>An email of about <paramref name="bytes"/> bytes: a short text and a base64 attachment.</summary>
    private static byte[] Large(int n, int bytes)
    {
        var payload = new byte[bytes * 3 / 4];
        new Random(n).NextBytes(payload);
        var text = new StringBuilder();
        text.Append("From: reporter@example.org\r\nTo: phish@example.org\r\n");
        text.Append($"Subject: large report {n}\r\nMessage-ID: <large-{n}@example.org>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n");
        text.Append("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
        text.Append("--b\r\nContent-Type: text/plain\r\n\r\nSee the attached capture.\r\n");
        text.Append($"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"capture-{n}.bin\"\r\n");
        text.Append("Content-Transfer-Encoding: base64\r\n\r\n");
        text.Append(Convert.ToBase64String(payload, Base64FormattingOptions.InsertLineBreaks)).Append("\r\n--b--\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
