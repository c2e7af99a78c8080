using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Engine;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Mailboxes;
using ImapActors.Domain;
using ImapActors.Ingestion.Cursor;

namespace ImapActors.Actors.Tests;

/// <summary>The mailbox when the journal fails to persist the cursor's move, through <see cref="TestJournal"/>.</summary>
public sealed class CursorJournalFaultTests : TestKit, IDisposable
{
    private readonly string _vault = Path.Combine(Path.GetTempPath(), "imapactors-test-" + Guid.NewGuid().ToString("N"));
    private readonly FakeServer _server = new();
    private readonly FakeStore _store = new();
    private readonly FakeProcessing _processing = new();

    public CursorJournalFaultTests()
        : base(ConfigurationFactory.FromResource<TestJournal>("Akka.Persistence.TestKit.config.conf").WithFallback(EngineHocon.Base(2)))
    {
    }

    [Fact]
    public async Task A_failed_persist_of_the_cursor_loses_nothing_and_duplicates_nothing()
    {
        var journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
        var failOnce = new FailFirstCursorMove();
        await journal.OnWrite.SetInterceptorAsync(failOnce);
        _server.Add(30);

        var asset = new AssetSettings { Name = new AssetName("phish"), Server = "imap.test", Username = "soc", Folders = [new FolderName("INBOX")] };
        var settings = new EngineSettings
        {
            Storage = new StorageSettings(StorageProvider.Sqlite, "unused"),
            VaultPath = _vault,
            Assets = [asset],
            FetchBatchSize = 10,
            ParserPoolSize = 2,
            ExtractorPoolSize = 2,
        };
        var services = new EngineServices(settings, _store, new FileVault(_vault), _processing, new FakeConnector(_server), "test");
        var supervisor = Sys.ActorOf(IngestionSupervisor.Props(services, once: true));
        var status = Assert.Single(await supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), TimeSpan.FromSeconds(60)));

        // The cursor's first move failed to persist: the mailbox stopped, came back after its backoff, and fetched again.
        Assert.Equal(1, failOnce.Failures);
        Assert.True(_server.Connects >= 2, $"the mailbox restarted ({_server.Connects} connects)");

        // Nothing lost, nothing twice: each UID has one container, and what was re-delivered was recognised.
        Assert.Equal(30, _store.Containers.Count);
        Assert.Equal(30, _store.Containers.Select(c => c.Source.Uid).Distinct().Count());
        // Batches committed before the failure were reported by no one; after the restart they come back as already ingested.
        Assert.Equal(30, status.Created + status.AlreadyIngested);
        Assert.True(status.AlreadyIngested >= 10, $"the batch whose cursor move failed was committed again ({status.AlreadyIngested} already ingested)");
        Assert.True(_processing.Attempts.Count(kv => kv.Value == 2) >= status.AlreadyIngested);
        Assert.All(_processing.Attempts.Values, n => Assert.InRange(n, 1, 2));

        var cursor = await supervisor.Ask<MailboxCommands.CursorState>(new MailboxCommands.GetCursor(status.Mailbox), TimeSpan.FromSeconds(5));
        Assert.Equal(31u, cursor.Cursor.LowestPending);
        await supervisor.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), TimeSpan.FromSeconds(20));
    }

    /// <summary>Fails the journal write of the first cursor move, as a database that is briefly down would.</summary>
    private sealed class FailFirstCursorMove : IJournalInterceptor
    {
        private int _failures;

        public int Failures => Volatile.Read(ref _failures);

        public Task InterceptAsync(IPersistentRepresentation message) =>
            message.Payload is CursorEvents.UidsCommitted && Interlocked.CompareExchange(ref _failures, 1, 0) == 0
                ? Task.FromException(new InvalidOperationException("journal unavailable (test)"))
                : Task.CompletedTask;
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
