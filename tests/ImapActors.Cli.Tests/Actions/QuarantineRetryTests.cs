using System.Globalization;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Storage;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>
/// quarantine retry of an email the server would not serve (stage fetch, no raw bytes) fetches it from the real Dovecot
/// again, and leaves it in quarantine, saying why, when the UID no longer names it.
/// </summary>
public sealed class QuarantineRetryTests
{
    [Fact]
    public async Task A_fetch_row_is_fetched_again_and_ingested_under_its_uidvalidity()
    {
        var (harness, asset, uidValidity) = Mailbox("retryok", 3);
        using var _ = harness;
        await using var engine = await IngestionEngine.StartAsync(harness.Settings, new EngineOptions(), CancellationToken.None);

        var outcome = await RetryAsync(engine, new EmailSource(asset.Name, asset.Folders[0], 2, uidValidity, null));

        Assert.True(outcome.Succeeded, outcome.Error);
        var container = Assert.Single(await harness.ContainersAsync());
        Assert.Equal((2u, uidValidity), (container.Uid, container.UidValidity));
        Assert.Empty(await engine.Store.ListQuarantineAsync(false, CancellationToken.None));
    }

    [Fact]
    public async Task A_fetch_row_of_a_folder_with_another_uidvalidity_stays_in_quarantine_and_says_so()
    {
        var (harness, asset, uidValidity) = Mailbox("retryuidv", 3);
        using var _ = harness;
        await using var engine = await IngestionEngine.StartAsync(harness.Settings, new EngineOptions(), CancellationToken.None);

        var outcome = await RetryAsync(engine, new EmailSource(asset.Name, asset.Folders[0], 2, uidValidity - 1, null));

        Assert.False(outcome.Succeeded);
        Assert.Contains($"UIDVALIDITY {uidValidity} now, not {uidValidity - 1}", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(await harness.ContainersAsync());
        Assert.Single(await engine.Store.ListQuarantineAsync(false, CancellationToken.None));
    }

    [Fact]
    public async Task A_fetch_row_whose_uid_no_longer_exists_stays_in_quarantine_and_says_so()
    {
        var (harness, asset, uidValidity) = Mailbox("retrygone", 3);
        using var _ = harness;
        await using var engine = await IngestionEngine.StartAsync(harness.Settings, new EngineOptions(), CancellationToken.None);

        var outcome = await RetryAsync(engine, new EmailSource(asset.Name, asset.Folders[0], 9, uidValidity, null));

        Assert.False(outcome.Succeeded);
        Assert.Contains("UID 9 no longer exists in folder 'INBOX'", outcome.Error, StringComparison.Ordinal);
        Assert.Empty(await harness.ContainersAsync());
        Assert.Single(await engine.Store.ListQuarantineAsync(false, CancellationToken.None));
    }

    /// <summary>A Dovecot user with <paramref name="count"/> messages in INBOX, its engine harness, and the folder's UIDVALIDITY.</summary>
    private static (EngineHarness Harness, AssetSettings Asset, uint UidValidity) Mailbox(string prefix, int count)
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser(prefix);
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(41, count));
        var status = dovecot.Doveadm("mailbox", "status", "-u", user.Name, "uidvalidity", "INBOX");
        var uidValidity = uint.Parse(status[(status.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim(), CultureInfo.InvariantCulture);
        var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        return (harness, harness.Settings.Assets[0], uidValidity);
    }

    private static async Task<Host.Actions.RetryOutcome> RetryAsync(IngestionEngine engine, EmailSource source)
    {
        var id = await engine.Store.QuarantineAsync(source, null, "fetch", "BYE FETCH failed: Internal error occurred.", "test", 3,
            CancellationToken.None);
        return await engine.QuarantineRetry.RetryAsync((await engine.Store.GetQuarantinedAsync(id, CancellationToken.None))!, CancellationToken.None);
    }
}
