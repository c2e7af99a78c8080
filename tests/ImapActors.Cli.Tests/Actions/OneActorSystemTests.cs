using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>Tests that read a process-wide count, so they run alone.</summary>
[CollectionDefinition(nameof(ProcessWideCounters), DisableParallelization = true)]
public sealed class ProcessWideCounters;

/// <summary>The actions run on the host's one actor system: none of them starts another.</summary>
[Collection(nameof(ProcessWideCounters))]
public sealed class OneActorSystemTests
{
    [Fact]
    public async Task Get_email_with_ingest_poll_now_and_quarantine_retry_create_no_second_actor_system()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("onesystem");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(31, 4));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var asset = harness.Settings.Assets[0];
        var ct = CancellationToken.None;

        var before = EngineComposition.ActorSystemsStarted;
        await using var engine = await IngestionEngine.StartAsync(harness.Settings, new EngineOptions(), ct);
        Assert.Equal(before + 1, EngineComposition.ActorSystemsStarted);

        var ingested = await engine.GetEmail.RunAsync(asset, new GetEmailRequest { Id = "1", Ingest = true }, null, ct);
        Assert.NotNull(ingested.ContainerId);

        var polled = await engine.PollNow.RunAsync(asset, 3, _ => { }, ct);
        Assert.Equal([CommitOutcome.AlreadyIngested, CommitOutcome.Created, CommitOutcome.Created], polled.Select(e => e.Outcome));

        // UID 4 as a poll would have quarantined it: its raw bytes in the vault, an entry in the store.
        var raw = ActionsFixture.Samples(31, 4).Last();
        VaultId rawId;
        using (var stream = new MemoryStream(raw))
        {
            rawId = engine.Vault.Store(stream, "raw.eml").VaultId;
        }

        var source = new EmailSource(asset.Name, asset.Folders[0], 4, 1, null);
        var quarantineId = await engine.Store.QuarantineAsync(source, rawId, "parse", "test", "test", 3, ct);
        var retried = await engine.QuarantineRetry.RetryAsync((await engine.Store.GetQuarantinedAsync(quarantineId, ct))!, ct);
        Assert.True(retried.Succeeded, retried.Error);

        Assert.Equal(before + 1, EngineComposition.ActorSystemsStarted);
        Assert.Equal(4, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public void No_production_code_creates_an_actor_system_outside_the_composition_root()
    {
        var offenders = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains("ActorSystem.Create(", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .ToList();

        Assert.Empty(offenders);
    }
}
