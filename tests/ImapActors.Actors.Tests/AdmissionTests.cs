using Akka.Actor;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Ingestion.Admission;

namespace ImapActors.Actors.Tests;

/// <summary>The node-wide admission gate with many mailboxes running at once, against the in-memory fakes.</summary>
public sealed class AdmissionTests : TestKit, IDisposable
{
    private readonly string _vault = Path.Combine(Path.GetTempPath(), "imapactors-test-" + Guid.NewGuid().ToString("N"));
    private readonly FakeServer _server = new();
    private readonly FakeStore _store = new();

    public AdmissionTests()
        : base(TestConfig.InMemoryPersistence())
    {
    }

    /// <summary>Runs <paramref name="mailboxes"/> mailboxes (all reading the one fake folder) once, and returns their statuses and the gate's figures.</summary>
    private async Task<(List<MailboxStatus> Statuses, AdmissionStats Gate)> RunOnce(int mailboxes, AdmissionSettings admission, int batch)
    {
        var assets = Enumerable.Range(0, mailboxes).Select(i => new AssetSettings
        {
            Name = new AssetName("phish" + i),
            Server = "imap.test",
            Username = "soc",
            Folders = [new FolderName("INBOX")],
        }).ToList();
        var settings = new EngineSettings
        {
            Storage = new StorageSettings(StorageProvider.Sqlite, "unused"),
            VaultPath = _vault,
            Assets = assets,
            FetchBatchSize = batch,
            ParserPoolSize = 2,
            ExtractorPoolSize = 2,
            Admission = admission,
        };
        var services = new EngineServices(settings, _store, new FileVault(_vault), new FakeProcessing(), new FakeConnector(_server), "test");
        var supervisor = Sys.ActorOf(IngestionSupervisor.Props(services, once: true));
        var statuses = await supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), TimeSpan.FromSeconds(90));
        var gate = await supervisor.Ask<AdmissionStats>(new IngestionProtocol.GetAdmission(), TimeSpan.FromSeconds(5));
        await supervisor.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), TimeSpan.FromSeconds(20));
        return (statuses, gate);
    }

    [Fact]
    public async Task The_bytes_in_flight_across_many_mailboxes_stay_within_max_bytes()
    {
        // 24 mailboxes with two batches of 5 emails of 1,000 bytes each would hold 240,000 bytes; the gate allows 20,000.
        _server.AddOfSize(40, 1000);
        var (statuses, gate) = await RunOnce(24, new AdmissionSettings { MaxEmails = 400, MaxBytes = 20_000 }, batch: 5);

        Assert.Equal(24 * 40, _store.Containers.Count);
        Assert.All(statuses, s => Assert.True(s.CaughtUp, $"{s.Mailbox} caught up"));
        Assert.True(gate.PeakBytes <= 20_000, $"peak {gate.PeakBytes} bytes in flight");
        Assert.True(gate.PeakBytes >= 15_000, $"the limit was reached (peak {gate.PeakBytes})");
        Assert.True(gate.Waits > 0, "mailboxes waited for credit");
        Assert.Equal((0, 0L), (gate.Emails, gate.Bytes));
    }

    [Fact]
    public async Task The_emails_in_flight_across_many_mailboxes_stay_within_max_emails_and_every_mailbox_gets_its_turn()
    {
        _server.AddOfSize(20, 200);
        var (statuses, gate) = await RunOnce(16, new AdmissionSettings { MaxEmails = 12, MaxBytes = 1L << 30 }, batch: 5);

        Assert.Equal(16 * 20, _store.Containers.Count);
        Assert.All(statuses, s => Assert.Equal((true, 20L), (s.CaughtUp, s.Created)));
        Assert.InRange(gate.PeakEmails, 10, 12);
        Assert.Equal(0, gate.Emails);
    }

    [Fact]
    public async Task Emails_larger_than_max_bytes_are_still_ingested_one_at_a_time()
    {
        _server.AddOfSize(6, 3000);
        var (statuses, gate) = await RunOnce(3, new AdmissionSettings { MaxEmails = 400, MaxBytes = 1000 }, batch: 2);

        Assert.Equal(3 * 6, _store.Containers.Count);
        Assert.All(statuses, s => Assert.True(s.CaughtUp));

        // Each is admitted alone, when nothing else is in flight.
        Assert.Equal(3000, gate.PeakBytes);
        Assert.Equal(1, gate.PeakEmails);
        Assert.Equal(0, gate.Emails);
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
