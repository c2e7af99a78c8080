using ImapActors.Cli.Samples;
using ImapActors.Storage;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>
/// A message the real Dovecot cannot serve (its maildir file unreadable to the server): the command line ingests the rest
/// of the folder, quarantines that one at stage <c>fetch</c> with the server's answer, and ingests it once it is readable.
/// </summary>
public sealed class UnservableMessageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Unreadable_message_among_300_is_quarantined_at_fetch_the_other_299_ingested_and_retried_once_readable_it_lands_once()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("unserved");
        var generator = new SampleMail(21);
        dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(0, 300).Select(n => generator.Make(n)));
        dovecot.MakeUnservable(user.Name, "INBOX", 150);
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)], fetchBatchSize: 100);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);

        var started = DateTimeOffset.UtcNow;
        var run = await CliProcess.RunAsync(env, Timeout, "run", "--once", "--config", config);
        output.WriteLine($"run --once ended after {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s with {run.Exit}: {run.Out}");
        Assert.True(run.Exit == 0, run.Err);
        var containers = await harness.ContainersAsync();
        Assert.Equal(299, containers.Count);
        Assert.Equal(Enumerable.Range(1, 300).Where(u => u != 150).Select(u => (uint)u), containers.Select(c => c.Uid).Order());

        var q = Assert.Single(await QuarantineAsync(harness));
        Assert.Equal((150u, "fetch", 3), (q.Source.Uid, q.Stage, q.Attempts));
        Assert.Null(q.RawEmail);
        Assert.StartsWith("BYE FETCH failed: Internal error occurred.", q.Error, StringComparison.Ordinal);

        var list = await CliProcess.RunAsync(env, Timeout, "quarantine", "list", "--config", config);
        Assert.Contains(" fetch ", list.Out, StringComparison.Ordinal);
        Assert.Contains("BYE FETCH failed: Internal error occurred.", list.Out, StringComparison.Ordinal);
        var show = await CliProcess.RunAsync(env, Timeout, "quarantine", "show", q.Id.ToString(), "--config", config);
        Assert.True(show.Exit == 0, show.Err);
        Assert.Contains("stage:         fetch", show.Out, StringComparison.Ordinal);
        Assert.Contains("raw email:     none", show.Out, StringComparison.Ordinal);
        Assert.Contains("error:         " + q.Error, show.Out, StringComparison.Ordinal);

        // Still unreadable: the retry says so and the email stays in quarantine.
        var refused = await CliProcess.RunAsync(env, Timeout, "quarantine", "retry", q.Id.ToString(), "--config", config);
        output.WriteLine(refused.Err);
        Assert.Equal(1, refused.Exit);
        Assert.Contains("the server still cannot serve it: BYE FETCH failed", refused.Err, StringComparison.Ordinal);
        Assert.Single(await QuarantineAsync(harness));

        dovecot.MakeServable(user.Name, "INBOX", 150);
        var retry = await CliProcess.RunAsync(env, Timeout, "quarantine", "retry", q.Id.ToString(), "--config", config);
        output.WriteLine(retry.Out);
        Assert.True(retry.Exit == 0, retry.Err);
        Assert.Contains("UID 150 -> container", retry.Out, StringComparison.Ordinal);
        Assert.Contains("(Created)", retry.Out, StringComparison.Ordinal);
        Assert.Empty(await QuarantineAsync(harness));

        var again = await CliProcess.RunAsync(env, Timeout, "quarantine", "retry", "--all", "--config", config);
        Assert.True(again.Exit == 0, again.Err);
        var rerun = await CliProcess.RunAsync(env, Timeout, "run", "--once", "--config", config);
        Assert.True(rerun.Exit == 0, rerun.Err);
        containers = await harness.ContainersAsync();
        Assert.Equal(300, containers.Count);
        Assert.Single(containers, c => c.Uid == 150);
    }

    private static async Task<IReadOnlyList<QuarantinedEmail>> QuarantineAsync(EngineHarness harness)
    {
        await using var store = ContainerStoreFactory.Create(harness.Settings.Storage);
        await store.InitializeAsync(CancellationToken.None);
        return await store.ListQuarantineAsync(false, CancellationToken.None);
    }
}
