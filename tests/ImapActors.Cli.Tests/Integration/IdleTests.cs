using System.Diagnostics;
using ImapActors.Cli.Samples;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>IDLE against the real Dovecot: new mail becomes a container when the server announces it, not at the next poll.</summary>
public sealed class IdleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Mail_appended_while_the_mailbox_idles_becomes_a_container_within_seconds_with_a_ten_minute_poll_interval()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("idle");
        dovecot.LoadMessages(user.Name, "INBOX", [new SampleMail(1).Make(0)]);
        var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromMinutes(10) };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        await using var engine = await harness.StartAsync(once: false);
        await WaitForCreatedAsync(engine, 1, TimeSpan.FromSeconds(60));

        var latencies = new List<TimeSpan>();
        var mail = new SampleMail(2);
        for (var i = 1; i <= 20; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            await ImapAppender.AppendAsync(asset, "INBOX", mail.Make(i), CancellationToken.None);
            var appended = Stopwatch.StartNew();
            await WaitForCreatedAsync(engine, 1 + i, TimeSpan.FromSeconds(30));
            latencies.Add(appended.Elapsed);
        }

        var sorted = latencies.Order().ToList();
        var p95 = sorted[(int)Math.Ceiling(0.95 * sorted.Count) - 1];
        output.WriteLine($"append to container: median {sorted[sorted.Count / 2].TotalSeconds:0.00} s, p95 {p95.TotalSeconds:0.00} s, max {sorted[^1].TotalSeconds:0.00} s");
        Assert.True(p95 <= TimeSpan.FromSeconds(2), $"p95 {p95.TotalSeconds:0.00} s");
        Assert.True(sorted[^1] <= TimeSpan.FromSeconds(5), $"max {sorted[^1].TotalSeconds:0.00} s");
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(21, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task With_idle_off_new_mail_waits_for_the_next_poll()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("noidle");
        dovecot.LoadMessages(user.Name, "INBOX", [new SampleMail(3).Make(0)]);
        var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromSeconds(8), Idle = false };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        await using var engine = await harness.StartAsync(once: false);
        await WaitForCreatedAsync(engine, 1, TimeSpan.FromSeconds(60));

        await ImapAppender.AppendAsync(asset, "INBOX", new SampleMail(4).Make(1), CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, (await engine.GetStatusAsync()).Sum(s => s.Created));
        await WaitForCreatedAsync(engine, 2, TimeSpan.FromSeconds(20));
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_kept_connection_the_server_closes_between_polls_is_replaced_in_place_without_a_failure()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("kick");
        dovecot.LoadMessages(user.Name, "INBOX", [new SampleMail(5).Make(0)]);
        foreach (var idle in new[] { true, false })
        {
            var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromSeconds(2), Idle = idle, Name = new Domain.AssetName($"kick-{idle}") };
            using var harness = new EngineHarness(Store.Sqlite, [asset]);
            await using var engine = await harness.StartAsync(once: false);
            await WaitForCreatedAsync(engine, 1, TimeSpan.FromSeconds(60));

            var kicked = dovecot.LogLinesOf(user.Name).Count(l => l.Contains("Disconnected: Server shutting down", StringComparison.Ordinal));
            dovecot.Doveadm("kick", user.Name);
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.True(dovecot.LogLinesOf(user.Name).Count(l => l.Contains("Disconnected: Server shutting down", StringComparison.Ordinal)) > kicked,
                "the server closed the kept connection");
            await ImapAppender.AppendAsync(asset, "INBOX", new SampleMail(6).Make(idle ? 1 : 2), CancellationToken.None);
            await WaitForCreatedAsync(engine, 2, TimeSpan.FromSeconds(20));

            var status = Assert.Single(await engine.GetStatusAsync());
            output.WriteLine($"idle = {idle}: {status.Created} created, {status.Failures} failures, last error {status.LastError ?? "none"}");
            Assert.Equal((0L, null), (status.Failures, status.LastError));
            await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task A_server_without_idle_is_asked_by_noop_and_new_mail_still_comes_before_the_poll()
    {
        var dovecot = TestServices.StartPrivateDovecot("no-idle", noIdle: true);
        try
        {
            var user = dovecot.CreateUser("noop");
            dovecot.LoadMessages(user.Name, "INBOX", [new SampleMail(9).Make(0)]);
            var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromMinutes(10) };
            using var harness = new EngineHarness(Store.Sqlite, [asset]);
            await using var engine = await harness.StartAsync(once: false);
            await WaitForCreatedAsync(engine, 1, TimeSpan.FromSeconds(60));

            await ImapAppender.AppendAsync(asset, "INBOX", new SampleMail(10).Make(1), CancellationToken.None);
            var appended = Stopwatch.StartNew();
            await WaitForCreatedAsync(engine, 2, Mail.ImapSession.NoopInterval + TimeSpan.FromSeconds(15));
            output.WriteLine($"without IDLE: a container {appended.Elapsed.TotalSeconds:0.0} s after the append (NOOP every {Mail.ImapSession.NoopInterval.TotalSeconds} s)");
            Assert.True(appended.Elapsed > TimeSpan.FromSeconds(5), "a container within 5 s: the server still announced IDLE");
            await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            dovecot.Stop();
        }
    }

    private static async Task WaitForCreatedAsync(ImapActors.Host.IngestionEngine engine, long created, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while ((await engine.GetStatusAsync()).Sum(s => s.Created) < created)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"{created} containers not made within {timeout}");
            await Task.Delay(20);
        }
    }
}
