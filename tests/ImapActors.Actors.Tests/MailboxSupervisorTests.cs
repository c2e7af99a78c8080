using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Mailboxes;
using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using ImapActors.Mail;

namespace ImapActors.Actors.Tests;

/// <summary>The mailbox's supervisor: when it starts a failed mailbox again, what it reports, and when it starts over.</summary>
public sealed class MailboxSupervisorTests : TestKit
{
    private readonly TestProbe _reports;
    private readonly ScriptedConnector _connector = new();

    public MailboxSupervisorTests()
        : base(TestConfig.InMemoryPersistence(pipelineThreads: 1))
    {
        _reports = CreateTestProbe("reports");
    }

    private IActorRef Start(RetrySchedule? loginRetry = null)
    {
        var asset = new AssetSettings
        {
            Name = new AssetName("phish"),
            Server = "imap.test",
            Username = "soc",
            Folders = [new FolderName("INBOX")],
            PollInterval = TimeSpan.FromHours(1),
            Retry = new RetrySchedule(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)),
            LoginRetry = loginRetry ?? new RetrySchedule(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(1200)),
        };
        var settings = new EngineSettings { Storage = new StorageSettings(StorageProvider.Sqlite, "unused"), VaultPath = "unused", Assets = [asset] };
        var options = new MailboxOptions(asset, asset.Folders[0], settings, false, TestActor, TestActor, _reports, _connector, "test");
        return Sys.ActorOf(MailboxSupervisor.Props(options));
    }

    // Generous: under a full suite on 2 cores, a restart's journal recovery once took the 10 s this waited before.
    private MailboxReports.Failed ExpectFailed() =>
        (MailboxReports.Failed)_reports.FishForMessage(m => m is MailboxReports.Failed, TimeSpan.FromSeconds(30));

    [Fact]
    public void Refused_logins_wait_by_the_login_schedule_growing_with_each_failure_each_reported_once_with_its_next_attempt()
    {
        _connector.Refusals = 4;
        Start();
        var failures = Enumerable.Range(0, 4).Select(_ => (Report: ExpectFailed(), At: DateTimeOffset.UtcNow)).ToList();

        Assert.Equal([1, 2, 3, 4], failures.Select(f => f.Report.FailuresInARow));
        Assert.All(failures, f => Assert.Equal(("AuthenticationFailed", false), (f.Report.Cause, f.Report.Transient)));
        var schedule = new[] { 300, 600, 1200, 1200 };
        for (var i = 0; i < failures.Count; i++)
        {
            // Seen when the report arrived, so the wait left is at most the delay (under load, less).
            Assert.True((failures[i].Report.NextAttempt - failures[i].At).TotalMilliseconds <= schedule[i], $"wait {i + 1} too long");
            if (i > 0)
            {
                // Failure i came at or after the attempt announced before it, and its own attempt is its delay later.
                var apart = (failures[i].Report.NextAttempt - failures[i - 1].Report.NextAttempt).TotalMilliseconds;
                Assert.True(apart >= 0.8 * schedule[i], $"attempts {i} and {i + 1} only {apart:0} ms apart");
                Assert.True(failures[i].At >= failures[i - 1].Report.NextAttempt.AddMilliseconds(-20), $"attempt {i + 1} came early");
            }
        }

        // The fifth attempt logs in; its poll goes through.
        _reports.FishForMessage(m => m is MailboxReports.PollSucceeded, TimeSpan.FromSeconds(10));
        Assert.Equal(5, _connector.Connects);
    }

    [Fact]
    public void A_successful_poll_starts_the_schedule_over()
    {
        _connector.Losses = 3;
        var supervisor = Start();
        Assert.Equal([1, 2, 3], Enumerable.Range(0, 3).Select(_ => ExpectFailed()).Select(f => f.FailuresInARow));
        _reports.FishForMessage(m => m is MailboxReports.PollSucceeded, TimeSpan.FromSeconds(10));

        _connector.BreakExamine = true;
        supervisor.Tell(new MailboxCommands.PollMailbox(new MailboxId(new AssetName("phish"), new FolderName("INBOX"))));
        var failed = ExpectFailed();
        Assert.Equal((1, "ConnectionLost", true), (failed.FailuresInARow, failed.Cause, failed.Transient));
        // The first delay again (100 ms), not the third failure's (200 ms). Seen after the report, so the wait left is at most
        // the delay; under load it may already have passed.
        Assert.True((failed.NextAttempt - DateTimeOffset.UtcNow).TotalMilliseconds <= 100, "the schedule did not start over");
    }

    [Fact]
    public void A_stop_while_waiting_to_try_again_stops_at_once()
    {
        // The next login is an hour away: a stop that waited for it would not end within the generous bound below,
        // which only allows for a loaded machine.
        _connector.Refusals = int.MaxValue;
        var supervisor = Start(new RetrySchedule(TimeSpan.FromHours(1), TimeSpan.FromHours(1)));
        Watch(supervisor);
        ExpectFailed();
        supervisor.Tell(new MailboxCommands.StopGracefully(new MailboxId(new AssetName("phish"), new FolderName("INBOX"))));
        ExpectTerminated(supervisor, TimeSpan.FromSeconds(10));
        Assert.Equal(1, _connector.Connects);
    }

    /// <summary>Refuses or loses the first logins, then serves an empty folder; can break EXAMINE on a kept connection.</summary>
    private sealed class ScriptedConnector : IMailboxConnector
    {
        private int _connects;

        public int Refusals { get; set; }

        public int Losses { get; set; }

        public volatile bool BreakExamine;

        public int Connects => Volatile.Read(ref _connects);

        public Task<IMailboxConnection> ConnectAsync(AssetSettings asset, FolderName folder, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _connects);
            if (n <= Refusals)
            {
                throw new ImapFailureException(ImapFailureCause.AuthenticationFailed, "the server rejected the credentials (test)");
            }

            if (n <= Losses)
            {
                throw new ImapFailureException(ImapFailureCause.ConnectionLost, "connection lost (test)");
            }

            return Task.FromResult<IMailboxConnection>(new Connection(this));
        }

        private sealed class Connection(ScriptedConnector connector) : IMailboxConnection
        {
            public Task<FolderStatus> ExamineAsync(CancellationToken cancellationToken) => connector.BreakExamine
                ? Task.FromException<FolderStatus>(new ImapFailureException(ImapFailureCause.ConnectionLost, "connection lost (test)"))
                : Task.FromResult(new FolderStatus("INBOX", 7, 1, 0));

            public Task<IReadOnlyList<uint>> SearchUidsAsync(uint from, uint to, CancellationToken cancellationToken) =>
                Task.FromResult<IReadOnlyList<uint>>([]);

            public Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
                Task.FromResult<IReadOnlyDictionary<uint, DateTimeOffset>>(new Dictionary<uint, DateTimeOffset>());

            public Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
                Task.FromResult<IReadOnlyList<uint>>([]);

            public bool CanWaitForMail => false;

        public Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
                Task.FromResult<IReadOnlyDictionary<uint, long>>(new Dictionary<uint, long>());

            public Task<IReadOnlyList<FetchedEmail>> FetchAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken) =>
                Task.FromResult<IReadOnlyList<FetchedEmail>>([]);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
