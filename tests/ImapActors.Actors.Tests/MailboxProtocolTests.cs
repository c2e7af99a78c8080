using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Mailboxes;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Ingestion.Cursor;
using ImapActors.Storage;

namespace ImapActors.Actors.Tests;

/// <summary>
/// The mailbox's protocol with the pools, the sink and the admission gate, each played by a probe: what the mailbox
/// sends, what it does with each answer, and that nothing but outcomes ever comes back to it.
/// </summary>
public sealed class MailboxProtocolTests : TestKit
{
    private readonly FakeServer _server = new();
    private readonly TestProbe _parsers;
    private readonly TestProbe _sink;
    private readonly TestProbe _gate;
    private readonly TestProbe _reports;

    public MailboxProtocolTests()
        : base(TestConfig.InMemoryPersistence(pipelineThreads: 1))
    {
        _parsers = CreateTestProbe("parsers");
        _sink = CreateTestProbe("sink");
        _gate = CreateTestProbe("gate");
        _reports = CreateTestProbe("reports");
    }

    private IActorRef Start(int batch = 4, TimeSpan? itemTimeout = null)
    {
        var asset = new AssetSettings { Name = new AssetName("phish"), Server = "imap.test", Username = "soc", Folders = [new FolderName("INBOX")] };
        var settings = new EngineSettings
        {
            Storage = new StorageSettings(StorageProvider.Sqlite, "unused"),
            VaultPath = "unused",
            Assets = [asset],
            FetchBatchSize = batch,
        };
        var options = new MailboxOptions(asset, asset.Folders[0], settings, true, _parsers, _sink, _reports, new FakeConnector(_server), "test")
        {
            Admission = _gate,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            ItemTimeout = itemTimeout ?? TimeSpan.FromMinutes(2),
        };
        return Sys.ActorOf(Props.Create(() => new MailboxActor(options)));
    }

    /// <summary>Grants the mailbox's next request and returns the work items it sends the parser pool.</summary>
    private List<WorkItem> Grant(int emails, int expectedParses)
    {
        // The first request follows the journal's recovery, the login and the plan: slow on a loaded machine.
        _gate.ExpectMsg<AdmissionProtocol.RequestCredit>(TimeSpan.FromSeconds(15));
        _gate.Reply(new AdmissionProtocol.CreditGranted(emails));
        return Enumerable.Range(0, expectedParses).Select(_ => _parsers.ExpectMsg<PipelineMessages.ParseEmail>().Item).ToList();
    }

    private static async Task<MailboxCursor> CursorOf(IActorRef mailbox) =>
        (await mailbox.Ask<MailboxCommands.CursorState>(new MailboxCommands.GetCursor(new MailboxId(new AssetName("phish"), new FolderName("INBOX"))),
            TimeSpan.FromSeconds(5))).Cursor;

    private static SinkProtocol.BatchCommitted Created(long commitId, IEnumerable<WorkItem> items) =>
        new(commitId, items.Select(i => new CommitResult(i.Source, i.Source.Uid, CommitOutcome.Created)).ToList());

    private long[] SizesOf(params uint[] uids) => [.. uids.Select(u => _server.Sizes(uids)[u])];

    [Fact]
    public void The_mailbox_asks_the_gate_before_it_fetches_and_fetches_no_more_than_granted()
    {
        _server.Add(10);
        Start(batch: 4);
        // The request carries the sizes of the next UIDs, asked of the server before any body.
        Assert.Equal(SizesOf(1, 2, 3, 4), _gate.ExpectMsg<AdmissionProtocol.RequestCredit>().Sizes);
        Assert.Equal(0, _server.FetchCommands);

        _gate.Reply(new AdmissionProtocol.CreditGranted(3));
        var items = Enumerable.Range(0, 3).Select(_ => _parsers.ExpectMsg<PipelineMessages.ParseEmail>().Item).ToList();
        Assert.Equal([1u, 2u, 3u], items.Select(i => i.Source.Uid));
        Assert.All(items, i => Assert.Equal(1, i.Attempt));
        var charge = _gate.ExpectMsg<AdmissionProtocol.ChargeFetched>();
        Assert.Equal(items.Sum(i => i.Raw.Length), charge.Bytes);
        _parsers.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        // The second batch slot asks again, for the next UIDs.
        Assert.Equal(SizesOf(4, 5, 6, 7), _gate.ExpectMsg<AdmissionProtocol.RequestCredit>().Sizes);
        Assert.Equal(1, _server.FetchCommands);
    }

    [Fact]
    public async Task Staged_emails_are_committed_by_the_sink_and_their_credit_goes_back_to_the_gate()
    {
        _server.Add(2);
        var mailbox = Start();
        var items = Grant(2, 2);
        foreach (var item in items)
        {
            mailbox.Tell(new SinkProtocol.EmailStaged(item.Ticket, item.Source.Uid), _sink);
        }

        var commit = _sink.ExpectMsg<SinkProtocol.CommitStaged>();
        Assert.Equal([1u, 2u], commit.Uids);
        Assert.Equal(items[0].Ticket, commit.Ticket);
        _sink.Reply(Created(commit.CommitId, items));

        _gate.ExpectMsg<AdmissionProtocol.ChargeFetched>();
        var release = _gate.ExpectMsg<AdmissionProtocol.ReleaseCredit>();
        Assert.Equal((2, items.Sum(i => i.Raw.Length)), (release.Emails, release.Bytes));
        _reports.ExpectMsg<MailboxReports.PollStarted>();
        var done = _reports.ExpectMsg<MailboxReports.BatchDone>();
        Assert.Equal((2, 2), (done.Fetched, done.Created));
        Assert.Equal(3u, (await CursorOf(mailbox)).LowestPending);
    }

    [Fact]
    public async Task The_cursor_does_not_move_until_the_sink_has_committed()
    {
        _server.Add(1);
        var mailbox = Start();
        var item = Assert.Single(Grant(1, 1));
        mailbox.Tell(new SinkProtocol.EmailStaged(item.Ticket, 1), _sink);
        var commit = _sink.ExpectMsg<SinkProtocol.CommitStaged>();
        Assert.Equal(1u, (await CursorOf(mailbox)).LowestPending);

        _sink.Reply(Created(commit.CommitId, [item]));
        await AwaitAssertAsync(async () => Assert.Equal(2u, (await CursorOf(mailbox)).LowestPending));
    }

    [Fact]
    public void A_failing_email_is_sent_again_then_quarantined_through_the_sink()
    {
        _server.Add(1);
        var mailbox = Start();
        var item = Assert.Single(Grant(1, 1));
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(attempt, item.Attempt);
            mailbox.Tell(new PipelineMessages.EmailFailed(item, "parse", "bad MIME"), _parsers);
            if (attempt < 3)
            {
                item = _parsers.ExpectMsg<PipelineMessages.ParseEmail>().Item;
            }
        }

        var quarantine = _sink.ExpectMsg<SinkProtocol.QuarantineEmail>();
        Assert.Equal((1u, "parse", "bad MIME", 3), (quarantine.Source.Uid, quarantine.Stage, quarantine.Error, quarantine.Attempts));
        _parsers.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _sink.Reply(new SinkProtocol.EmailQuarantined(quarantine.Ticket, 1, 7));
        _reports.FishForMessage(m => m is MailboxReports.BatchDone { Quarantined: 1, Created: 0 });
    }

    [Fact]
    public void An_email_without_an_answer_within_the_item_timeout_is_sent_again()
    {
        _server.Add(1);
        Start(itemTimeout: TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, Assert.Single(Grant(1, 1)).Attempt);
        Assert.Equal(2, _parsers.ExpectMsg<PipelineMessages.ParseEmail>(TimeSpan.FromSeconds(5)).Item.Attempt);
    }

    [Fact]
    public void A_commit_the_store_keeps_refusing_is_split_and_only_the_refused_email_is_quarantined()
    {
        _server.Add(3);
        var mailbox = Start();
        var items = Grant(3, 3);
        foreach (var item in items)
        {
            mailbox.Tell(new SinkProtocol.EmailStaged(item.Ticket, item.Source.Uid), _sink);
        }

        var commit = _sink.ExpectMsg<SinkProtocol.CommitStaged>();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal([1u, 2u, 3u], commit.Uids);
            _sink.Reply(new SinkProtocol.BatchFailed(commit.CommitId, "value refused"));
            if (attempt < 3)
            {
                commit = _sink.ExpectMsg<SinkProtocol.CommitStaged>();
            }
        }

        var singles = Enumerable.Range(0, 3).Select(_ => _sink.ExpectMsg<SinkProtocol.CommitStaged>()).ToList();
        Assert.Equal([[1u], [2u], [3u]], singles.Select(c => c.Uids.ToArray()));
        mailbox.Tell(Created(singles[0].CommitId, [items[0]]), _sink);
        mailbox.Tell(Created(singles[2].CommitId, [items[2]]), _sink);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            mailbox.Tell(new SinkProtocol.BatchFailed(singles[1].CommitId, "value refused"), _sink);
            if (attempt < 3)
            {
                Assert.Equal([2u], _sink.ExpectMsg<SinkProtocol.CommitStaged>().Uids);
            }
        }

        Assert.Equal([2u], _sink.ExpectMsg<SinkProtocol.DiscardStaged>().Uids);
        var quarantine = _sink.ExpectMsg<SinkProtocol.QuarantineEmail>();
        Assert.Equal((2u, "store"), (quarantine.Source.Uid, quarantine.Stage));
        mailbox.Tell(new SinkProtocol.EmailQuarantined(quarantine.Ticket, 2, 1), _sink);
        _reports.FishForMessage(m => m is MailboxReports.BatchDone { Created: 2, Quarantined: 1 });
    }

    [Fact]
    public void A_graceful_stop_withdraws_the_credit_request_and_lets_the_batch_in_flight_commit()
    {
        _server.Add(8);
        var mailbox = Start(batch: 4);
        Watch(mailbox);
        var items = Grant(4, 4);
        _gate.FishForMessage(m => m is AdmissionProtocol.RequestCredit);

        mailbox.Tell(new MailboxCommands.StopGracefully(items[0].Source.Mailbox));
        _gate.FishForMessage(m => m is AdmissionProtocol.CancelCredit);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        foreach (var item in items)
        {
            mailbox.Tell(new SinkProtocol.EmailStaged(item.Ticket, item.Source.Uid), _sink);
        }

        var commit = _sink.ExpectMsg<SinkProtocol.CommitStaged>();
        _sink.Reply(Created(commit.CommitId, items));
        ExpectTerminated(mailbox);
        Assert.Equal(1, _server.FetchCommands);
    }

    [Fact]
    public void A_stop_while_waiting_for_credit_withdraws_the_request_and_fetches_nothing()
    {
        _server.Add(2);
        var mailbox = Start();
        Watch(mailbox);
        var request = _gate.ExpectMsg<AdmissionProtocol.RequestCredit>();
        mailbox.Tell(new MailboxCommands.StopGracefully(new MailboxId(new AssetName("phish"), new FolderName("INBOX"))));
        _gate.ExpectMsg<AdmissionProtocol.CancelCredit>();
        ExpectTerminated(mailbox);
        Assert.Equal(2, request.Sizes.Count);
        Assert.Equal(0, _server.FetchCommands);
    }

    [Fact]
    public void A_late_staged_answer_for_an_email_already_quarantined_is_dropped_from_the_sink()
    {
        _server.Add(2);
        var mailbox = Start();
        var items = Grant(2, 2);
        var poison = items[0];
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            mailbox.Tell(new PipelineMessages.EmailFailed(poison, "extract", "boom"), _parsers);
            if (attempt < 3)
            {
                poison = _parsers.ExpectMsg<PipelineMessages.ParseEmail>().Item;
            }
        }

        _sink.ExpectMsg<SinkProtocol.QuarantineEmail>();
        mailbox.Tell(new SinkProtocol.EmailStaged(poison.Ticket, 1), _sink);
        Assert.Equal([1u], _sink.ExpectMsg<SinkProtocol.DiscardStaged>().Uids);
    }
}
