using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Storage;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>"poll now": N emails through the pipeline, no duplicates, and the scheduled cursor left alone.</summary>
public sealed class PollNowTests(ITestOutputHelper output)
{
    private static DovecotInstance Dovecot => TestServices.Dovecot;

    [Fact]
    public async Task Twice_with_ten_makes_ten_containers_and_leaves_the_scheduled_cursor_where_it_was()
    {
        var user = Dovecot.CreateUser("pollnow");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(11, 50));

        // Latest first takes UIDs 41..50: had poll-now moved the cursor past them, the scheduled run would find nothing.
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user) with { IngestManner = IngestManner.LatestFirst }]);
        var asset = harness.Settings.Assets[0].Name.Value;

        var (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "poll-now", "--asset", asset, "--container-count", "10");
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        var lines = ActionsFixture.Lines(stdout);
        Assert.Contains("POLL NOW Getting 10 most recent email uid(s)", lines);
        Assert.Equal(10, lines.Count(l => l.Contains(": Created container ", StringComparison.Ordinal)));
        Assert.Equal("Total: 10 emails, 10 created, 0 already ingested, 0 reconciled, 0 failed", lines[^1]);

        (exit, stdout, _) = await ActionsFixture.RunCliAsync(harness, "poll-now", "--asset", asset, "--container-count", "10");
        output.WriteLine(stdout);
        Assert.Equal(0, exit);
        Assert.Equal("Total: 10 emails, 0 created, 10 already ingested, 0 reconciled, 0 failed", ActionsFixture.Lines(stdout)[^1]);

        var containers = await harness.ContainersAsync();
        Assert.Equal(Enumerable.Range(41, 10).Select(i => (uint)i), containers.Select(c => c.Uid).Order());

        var statuses = await harness.RunOnceAsync(TimeSpan.FromMinutes(3));
        var status = Assert.Single(statuses);
        output.WriteLine($"run --once: fetched {status.Fetched}, created {status.Created}, already {status.AlreadyIngested}");
        Assert.Equal(40, status.Created);
        Assert.Equal(50, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task Oldest_first_takes_the_lowest_uids_of_each_folder_and_says_when_there_are_fewer()
    {
        var user = Dovecot.CreateUser("pollold");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(12, 5));
        Dovecot.LoadMessages(user.Name, "Reported", ActionsFixture.Samples(13, 2));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user, true, "INBOX", "Reported")]);
        var progress = new List<string>();
        await using var engine = await IngestionEngine.StartAsync(harness.Settings, new EngineOptions(), CancellationToken.None);

        var emails = await engine.PollNow.RunAsync(harness.Settings.Assets[0], 3, progress.Add, CancellationToken.None);

        Assert.Equal([("INBOX", 1u), ("INBOX", 2u), ("INBOX", 3u), ("Reported", 1u), ("Reported", 2u)], emails.Select(e => (e.Folder.Value, e.Uid)));
        Assert.All(emails, e => Assert.Equal(CommitOutcome.Created, e.Outcome));
        Assert.All(emails, e => Assert.False(string.IsNullOrEmpty(e.Name)));
        Assert.Equal(
            ["Initiated connection to server", "User logged in", "Selected folder 'INBOX'", "POLL NOW Getting 3 oldest email uid(s)",
             "Selected folder 'Reported'", "POLL NOW Getting 3 oldest email uid(s)", "Got 2 emails"],
            progress);
    }

    [Theory]
    [InlineData("ten", "Please provide a valid integer value in the container_count parameter")]
    [InlineData("-3", "Please provide a valid non-negative integer value in the container_count parameter")]
    [InlineData("0", "Please provide a positive integer value in the container_count parameter")]
    public void Container_count_is_validated_with_the_reference_messages(string value, string message)
    {
        var ex = Assert.Throws<ActionFailedException>(() => PollNow.ParseCount(value));

        Assert.Equal(message, ex.Message);
        Assert.Equal(100, PollNow.ParseCount(null));
    }
}
