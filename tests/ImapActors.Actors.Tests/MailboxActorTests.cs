using Akka.Actor;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Mailboxes;
using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using ImapActors.Ingestion.Admission;
using ImapActors.Mail;

namespace ImapActors.Actors.Tests;

/// <summary>The mailbox actor and its supervisor against an in-memory folder, processing and store.</summary>
public sealed class MailboxActorTests : TestKit, IDisposable
{
    private readonly string _vault = Path.Combine(Path.GetTempPath(), "imapactors-test-" + Guid.NewGuid().ToString("N"));
    private readonly FakeServer _server = new();
    private readonly FakeStore _store = new();
    private readonly FakeProcessing _processing = new();
    private int _generation;

    // The admission gate's figures once the last RunOnce was caught up, before its mailboxes stopped.
    private AdmissionStats? _admission;

    public MailboxActorTests()
        : base(TestConfig.InMemoryPersistence())
    {
    }

    private static AssetSettings Asset(IngestManner manner = IngestManner.OldestFirst, int firstRun = 2000, int max = 100) => new()
    {
        Name = new AssetName("phish"),
        Server = "imap.test",
        Username = "soc",
        Folders = [new FolderName("INBOX")],
        IngestManner = manner,
        FirstRunMaxEmails = firstRun,
        MaxEmails = max,
    };

    private IActorRef Start(AssetSettings asset, bool once = true, int batch = 40, IMailboxConnector? connector = null,
        ClusterSettings? cluster = null)
    {
        var settings = new EngineSettings
        {
            Storage = new StorageSettings(StorageProvider.Sqlite, "unused"),
            VaultPath = _vault,
            Assets = [asset],
            FetchBatchSize = batch,
            ParserPoolSize = 2,
            ExtractorPoolSize = 2,
            Cluster = cluster ?? new ClusterSettings(),
        };
        var services = new EngineServices(settings, _store, new FileVault(_vault), _processing, connector ?? new FakeConnector(_server), "test");
        return Sys.ActorOf(IngestionSupervisor.Props(services, once), "ingestion-" + _generation++);
    }

    private async Task<List<MailboxStatus>> RunOnce(AssetSettings asset, int batch = 40, ClusterSettings? cluster = null)
    {
        var supervisor = Start(asset, once: true, batch: batch, cluster: cluster);
        var statuses = await supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), TimeSpan.FromSeconds(60));
        _admission = await supervisor.Ask<AdmissionStats>(new IngestionProtocol.GetAdmission(), TimeSpan.FromSeconds(5));
        await supervisor.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), TimeSpan.FromSeconds(20));
        Watch(supervisor);
        Sys.Stop(supervisor);
        ExpectTerminated(supervisor);
        return statuses;
    }

    [Fact]
    public async Task Once_mode_ingests_every_email_exactly_once_in_batches()
    {
        _server.Add(250);
        var status = Assert.Single(await RunOnce(Asset(max: 60)));
        Assert.Equal(250, _store.Containers.Count);
        Assert.Equal(250, _store.Containers.Select(c => c.Source.Uid).Distinct().Count());
        Assert.True(status.CaughtUp);
        Assert.Equal(250, status.Created);
        Assert.All(_processing.Attempts.Values, n => Assert.Equal(1, n));
        Assert.True(_server.FetchCommands >= 250 / 40, "a batch is one fetch command");
        Assert.Equal(1, _server.Connects);
    }

    [Fact]
    public async Task Every_container_records_the_node_that_ingested_it()
    {
        _server.Add(50);
        await RunOnce(Asset(), cluster: new ClusterSettings { Enabled = true, Hostname = "10.0.0.11", Port = 4054, SeedNodes = ["10.0.0.11:4054"] });
        Assert.Equal(50, _store.Nodes.Count);
        Assert.All(_store.Nodes, n => Assert.Equal("10.0.0.11:4054", n));

        // Out of a cluster the node is the machine.
        _server.Add(5);
        await RunOnce(Asset());
        Assert.Equal(Enumerable.Repeat(Environment.MachineName, 5), _store.Nodes.Skip(50));
    }

    [Fact]
    public async Task Poison_email_is_quarantined_and_the_cursor_moves_past_it()
    {
        _server.Add(20, uid => uid == 7 ? "POISON" : "mail " + uid);
        var status = Assert.Single(await RunOnce(Asset()));
        Assert.Equal(19, _store.Containers.Count);
        var q = Assert.Single(_store.Quarantine);
        Assert.Equal(7u, q.Source.Uid);
        Assert.Equal("parse", q.Stage);
        Assert.Equal(3, q.Attempts);
        Assert.Equal(1, status.Quarantined);
        Assert.Equal(3, _processing.Attempts[7]);

        // A later run neither retries nor re-ingests anything: the cursor is past the poison email.
        _processing.Attempts.Clear();
        await RunOnce(Asset());
        Assert.Empty(_processing.Attempts);
    }

    [Fact]
    public async Task Lost_connection_mid_fetch_restarts_only_that_mailbox_and_loses_nothing()
    {
        _server.Add(120);
        _server.FailNextFetches = 2;
        var status = Assert.Single(await RunOnce(Asset()));
        Assert.Equal(120, _store.Containers.Count);
        Assert.Equal(120, _store.Containers.Select(c => c.Source.Uid).Distinct().Count());
        Assert.True(_server.Connects >= 3, $"reconnected after each failure ({_server.Connects} connects)");
        Assert.True(status.CaughtUp);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Email_the_server_refuses_to_fetch_is_quarantined_at_fetch_without_raw_bytes_and_the_rest_ingested(bool bye, bool noSize)
    {
        _server.Add(100);
        _server.Unservable.Add(57);
        _server.ByeOnRefusal = bye;
        _server.SizesRefused = noSize;
        var status = Assert.Single(await RunOnce(Asset(), batch: 40));

        Assert.Equal(99, _store.Containers.Count);
        Assert.DoesNotContain(_store.Containers, c => c.Source.Uid == 57);
        var q = Assert.Single(_store.Quarantine);
        Assert.Equal((57u, "fetch", 3, 1000u), (q.Source.Uid, q.Stage, q.Attempts, q.Source.UidValidity));
        Assert.Null(q.RawEmail);
        Assert.Equal(bye ? "BYE FETCH failed: Internal error occurred." : "NO Internal error occurred.", q.Error);
        Assert.Equal((1, 99), (status.Quarantined, status.Created));
        Assert.True(status.CaughtUp);
        Assert.Equal(3, _server.Fetches.Count(f => f is [57]));
        Assert.Equal(bye ? 1 + _server.Refusals : 1, _server.Connects);
        Assert.DoesNotContain(_processing.Attempts.Keys, u => u == 57);
        Assert.Equal((0, 0L, 0L), (_admission!.Emails, _admission.Bytes, _admission.Reserved));

        // The cursor is past it: a later run does not fetch it again.
        _server.Fetches.Clear();
        await RunOnce(Asset());
        Assert.DoesNotContain(_server.Fetches, f => f.Contains(57u));
    }

    [Fact]
    public async Task Email_the_server_leaves_out_of_its_answer_is_retried_then_quarantined_at_fetch_and_one_it_no_longer_has_is_gone()
    {
        _server.Add(30);
        _server.Omitted.Add(12);
        _server.ExpungedBeforeFetch.Add(20);
        var status = Assert.Single(await RunOnce(Asset()));

        Assert.Equal(28, _store.Containers.Count);
        var q = Assert.Single(_store.Quarantine);
        Assert.Equal((12u, "fetch", 3), (q.Source.Uid, q.Stage, q.Attempts));
        Assert.Contains("UID SEARCH", q.Error, StringComparison.Ordinal);
        Assert.Equal(3, _server.Fetches.Count(f => f.Contains(12u)));
        Assert.Equal(1, _server.Fetches.Count(f => f.Contains(20u)));
        Assert.Equal((1, 1L), (status.Quarantined, status.Gone));
        Assert.Equal((0, 0L, 0L), (_admission!.Emails, _admission.Bytes, _admission.Reserved));
    }

    [Fact]
    public async Task Failed_commit_is_retried_and_commits_once()
    {
        _server.Add(30);
        _store.FailNextCommits = 1;
        await RunOnce(Asset());
        Assert.Equal(30, _store.Containers.Count);
        Assert.Empty(_store.Quarantine);
    }

    [Fact]
    public async Task Email_the_store_refuses_is_quarantined_alone()
    {
        _server.Add(10);
        _store.Refuse = e => e.Email.Container.Source.Uid == 4;
        await RunOnce(Asset());
        Assert.Equal(9, _store.Containers.Count);
        var q = Assert.Single(_store.Quarantine);
        Assert.Equal((4u, "store"), (q.Source.Uid, q.Stage));
    }

    [Fact]
    public async Task Restart_resumes_from_the_persisted_cursor()
    {
        _server.Add(30);
        await RunOnce(Asset());
        _processing.Attempts.Clear();
        _server.Add(10);
        await RunOnce(Asset());
        Assert.Equal(40, _store.Containers.Count);
        Assert.Equal(Enumerable.Range(31, 10).Select(i => (uint)i), _processing.Attempts.Keys.Order());
    }

    [Fact]
    public async Task Uidvalidity_change_rescans_and_reconciles_without_duplicates()
    {
        _server.Add(30);
        await RunOnce(Asset());
        _server.Rebuild(2000);
        _server.Add(5);
        var status = Assert.Single(await RunOnce(Asset()));
        Assert.Equal(35, _store.Containers.Count);
        Assert.Equal(30, status.Reconciled);
        Assert.Equal(5, status.Created);
    }

    [Fact]
    public async Task Latest_first_first_run_takes_only_the_newest_n()
    {
        _server.Add(50);
        await RunOnce(Asset(IngestManner.LatestFirst, firstRun: 10, max: 5));
        Assert.Equal(Enumerable.Range(41, 10).Select(i => (uint)i), _store.Containers.Select(c => c.Source.Uid).Order());

        // New mail after the first run is all taken, in windows of max_emails, newest first.
        _server.Add(12);
        await RunOnce(Asset(IngestManner.LatestFirst, firstRun: 10, max: 5));
        Assert.Equal(22, _store.Containers.Count);
    }

    [Theory]
    [InlineData(IngestManner.OldestFirst)]
    [InlineData(IngestManner.LatestFirst)]
    public async Task Once_caught_up_polls_search_and_fetch_only_above_the_settled_uids_holes_included(IngestManner manner)
    {
        _server.Add(2000);
        _server.Expunge(500, 1400);
        await RunOnce(Asset(manner, max: 100));
        Assert.Equal(1099, _store.Containers.Count);
        var (searches, fetched) = (_server.Searches.Count, _server.FetchedUids.Count);

        // Ten more polls, each after a restart that recovers the cursor; new mail arrives before the sixth.
        for (var poll = 0; poll < 10; poll++)
        {
            if (poll == 5)
            {
                _server.Add(5);
            }

            await RunOnce(Asset(manner, max: 100));
        }

        // One search, by the poll that found the new mail; nothing at or below UID 2000, the hole's top included.
        Assert.Equal([(2001u, 2005u)], _server.Searches.Skip(searches));
        Assert.All(_server.FetchedUids.Skip(fetched), uid => Assert.InRange(uid, 2001u, 2005u));
        Assert.Equal(1104, _store.Containers.Count);
        Assert.Equal(1104, _store.Containers.Select(c => c.Source.Uid).Distinct().Count());
    }

    [Fact]
    public async Task Uids_max_emails_leaves_for_later_are_searched_and_taken_by_the_next_polls()
    {
        // Holes between the UIDs each poll takes: the mark must stop below what a poll left, not jump the hole after it.
        _server.Add(300);
        _server.Expunge(31, 60);
        _server.Expunge(121, 250);
        var status = Assert.Single(await RunOnce(Asset(max: 25)));
        Assert.Equal(140, status.Created);
        Assert.Equal(Enumerable.Range(1, 300).Where(u => u <= 30 || (u > 60 && u <= 120) || u > 250).Select(u => (uint)u),
            _store.Containers.Select(c => c.Source.Uid).Order());
    }

    [Fact]
    public async Task Oldest_first_a_poll_that_stops_at_max_emails_settles_only_the_windows_it_searched()
    {
        // The first 50,000-UID window holds exactly max_emails; the mail above it is in a window the poll never searched.
        _server.Add(20);
        _server.SkipUids(120_000);
        _server.Add(5);
        await RunOnce(Asset(firstRun: 20, max: 20));
        Assert.Equal(25, _store.Containers.Count);
    }

    [Fact]
    public async Task Latest_first_a_poll_that_stops_at_max_emails_settles_nothing_below_its_lowest_window()
    {
        _server.Add(5);
        await RunOnce(Asset(IngestManner.LatestFirst, max: 20));

        // 6..10 wait below a hole; the newest window alone holds max_emails of new mail.
        _server.Add(5);
        _server.SkipUids(120_000);
        _server.Add(20);
        await RunOnce(Asset(IngestManner.LatestFirst, max: 20));
        Assert.Equal(30, _store.Containers.Count);
    }

    [Fact]
    public async Task Scheduled_mode_picks_up_new_mail_on_the_next_poll()
    {
        _server.Add(5);
        var asset = Asset() with { PollInterval = TimeSpan.FromMilliseconds(200) };
        var supervisor = Start(asset, once: false);
        await AwaitAssertAsync(() => Assert.Equal(5, _store.Containers.Count), TimeSpan.FromSeconds(10));
        _server.Add(3);
        await AwaitAssertAsync(() => Assert.Equal(8, _store.Containers.Count), TimeSpan.FromSeconds(10));

        // Between polls the mailbox still answers, and its cursor has settled the folder up to the newest mail.
        var mailbox = new MailboxId(asset.Name, asset.Folders[0]);
        await AwaitAssertAsync(async () => Assert.Equal(8u,
            (await supervisor.Ask<MailboxCommands.CursorState>(new MailboxCommands.GetCursor(mailbox), TimeSpan.FromSeconds(5))).Cursor.SearchedThrough),
            TimeSpan.FromSeconds(10));
        await supervisor.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Once_mode_gives_up_on_a_mailbox_whose_login_keeps_failing_and_says_why()
    {
        var supervisor = Start(Asset(), once: true, connector: new RefusingConnector());
        var status = Assert.Single(await supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), TimeSpan.FromSeconds(30)));
        Assert.True(status.GaveUp);
        Assert.False(status.CaughtUp);
        Assert.Contains("AuthenticationFailed", status.LastError, StringComparison.Ordinal);
        Assert.Empty(_store.Containers);
    }

    private sealed class RefusingConnector : IMailboxConnector
    {
        public Task<IMailboxConnection> ConnectAsync(AssetSettings asset, FolderName folder, CancellationToken cancellationToken) =>
            throw new ImapFailureException(ImapFailureCause.AuthenticationFailed, "the server rejected the credentials (test)");
    }

    public new void Dispose()
    {
        base.Dispose();
        if (Directory.Exists(_vault))
        {
            Directory.Delete(_vault, recursive: true);
        }
    }
}
