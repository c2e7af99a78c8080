using Akka.Actor;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Ingestion.Admission;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>The node-wide admission gate with 64 mailboxes of the real corpus, through the real Dovecot.</summary>
public sealed class AdmissionIntegrationTests(ITestOutputHelper output)
{
    private const int Mailboxes = 64;

    [CorpusFact]
    public async Task Sixty_four_mailboxes_of_the_corpus_stay_within_the_gate_and_every_email_lands_once()
    {
        var corpus = RepoPaths.RequiredCorpus;

        // The corpus twice over, dealt out to 64 mailboxes as the benchmark does: mailbox k holds every 64th message.
        var files = Directory.EnumerateFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var messages = files.Concat(files).Select(f => MessageBytes.ToCrlf(File.ReadAllBytes(f))).ToList();
        var largest = messages.Max(m => m.Length);
        var dovecot = TestServices.Dovecot;
        var assets = new List<AssetSettings>();
        var expected = new Dictionary<string, int>();
        for (var k = 0; k < Mailboxes; k++)
        {
            var user = dovecot.CreateUser("gate");
            var mine = messages.Where((_, i) => i % Mailboxes == k).ToList();
            dovecot.LoadMessages(user.Name, "INBOX", mine);
            var asset = dovecot.Asset(user);
            assets.Add(asset);
            expected[asset.Name.Value] = mine.Count;
        }

        // Without the gate: 64 mailboxes x 2 batches x 5 emails. With it: 100 emails and 4 MiB at most, the bytes binding first.
        var admission = new AdmissionSettings { MaxEmails = 100, MaxBytes = 4L * 1024 * 1024 };
        using var harness = new EngineHarness(Store.Sqlite, assets, fetchBatchSize: 5);
        harness.Settings = harness.Settings with { Admission = admission };
        AdmissionStats gate;
        List<MailboxStatus> statuses;
        await using (var engine = await harness.StartAsync(once: true))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            statuses = await engine.WhenCaughtUpAsync(timeout.Token);
            gate = await engine.System.ActorSelection("/user/ingestion")
                .Ask<AdmissionStats>(new IngestionProtocol.GetAdmission(), TimeSpan.FromSeconds(10));
            await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        }

        output.WriteLine($"{messages.Count} messages, {messages.Sum(m => (long)m.Length)} bytes, the largest {largest}; gate: {gate}");
        var containers = await harness.ContainersAsync();
        Assert.Equal(messages.Count, containers.Count);
        Assert.Equal(messages.Count, containers.Select(c => (c.Asset, c.Uid)).Distinct().Count());
        Assert.All(statuses, s => Assert.True(s.CaughtUp && !s.GaveUp, $"{s.Mailbox}: {s.LastError}"));
        foreach (var (asset, count) in expected)
        {
            Assert.Equal(count, containers.Count(c => c.Asset == asset));
        }

        Assert.True(gate.PeakEmails <= admission.MaxEmails, $"peak {gate.PeakEmails} emails in flight");
        Assert.True(gate.Waits > 0, "mailboxes waited for credit");
        Assert.Equal((0, 0L), (gate.Emails, gate.Bytes));

        // Every byte fetched went through the gate, charged by what the fetch brought, and the bytes held never passed the
        // limit (no email of the corpus is larger than the limit, the one case the gate lets through alone).
        Assert.True(largest < admission.MaxBytes, $"the largest email ({largest}) fits the limit");
        Assert.Equal(messages.Sum(m => (long)m.Length), gate.BytesCharged);
        Assert.Equal(largest, gate.LargestEmail);
        Assert.InRange(gate.PeakBytes, admission.MaxBytes / 2, admission.MaxBytes);
    }
}
