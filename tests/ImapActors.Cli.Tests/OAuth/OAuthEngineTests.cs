using System.Text;
using ImapActors.Host.Actions;
using ImapActors.Host;
using ImapActors.Actors.Ingestion;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.OAuth;

/// <summary>The whole engine logging in to Dovecot with OAuth tokens that the token providers look after.</summary>
[Collection(OAuthEngineCollection.Name)]
public sealed class OAuthEngineTests(OAuthEngineFixture fixture)
{
    private const string ConfigPath = "/etc/imapactors/phish.conf";

    private static IEnumerable<byte[]> Samples(int seed, int count, int start = 0)
    {
        var generator = new SampleMail(seed);
        return Enumerable.Range(start, count).Select(n => generator.Make(n));
    }

    [Fact]
    public async Task Mailboxes_log_in_with_XOAUTH2_and_OAUTHBEARER_and_ingest_and_the_store_holds_no_token_in_plain_text()
    {
        using var harness = new EngineHarness(Store.Sqlite, []);
        var store = OAuthEngineFixture.NewStore(harness.Directory);
        var (xoauth2, user1) = fixture.SignedInAsset(store, "XOAUTH2");
        var (bearer, user2) = fixture.SignedInAsset(store, "OAUTHBEARER");
        fixture.Dovecot.LoadMessages(user1.Name, "INBOX", Samples(1, 3));
        fixture.Dovecot.LoadMessages(user2.Name, "INBOX", Samples(2, 4));
        harness.Settings = harness.Settings with { Assets = [xoauth2, bearer] };

        var statuses = await RunOnceAsync(harness, store);

        Assert.All(statuses, s => Assert.False(s.GaveUp, s.LastError));
        Assert.Equal(3, statuses.Single(s => s.Mailbox.Asset == xoauth2.Name).Created);
        Assert.Equal(4, statuses.Single(s => s.Mailbox.Asset == bearer.Name).Created);
        Assert.Equal(7, (await harness.ContainersAsync()).Count);

        // One token file per asset (beside it, the empty lock file of its refreshes).
        var files = Directory.GetFiles(store.Directory, "*.tokens");
        Assert.Equal(2, files.Length);
        Assert.All(Directory.GetFiles(store.Directory, "*.lock"), l => Assert.Equal(0, new FileInfo(l).Length));
        var issued = fixture.Server.IssuedRefreshTokens.Concat(fixture.Server.IssuedAccessTokens).ToList();
        foreach (var file in files)
        {
            var text = Encoding.Latin1.GetString(File.ReadAllBytes(file));
            Assert.DoesNotContain(issued, token => text.Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain("rt-", text, StringComparison.Ordinal);
            Assert.DoesNotContain("at-", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_access_token_that_expires_between_two_polls_is_renewed_and_no_poll_is_lost()
    {
        using var harness = new EngineHarness(Store.Sqlite, []);
        var store = OAuthEngineFixture.NewStore(harness.Directory);
        var (asset, user) = fixture.SignedInAsset(store, pollInterval: TimeSpan.FromSeconds(1));
        harness.Settings = harness.Settings with { Assets = [asset] };
        fixture.Dovecot.LoadMessages(user.Name, "INBOX", Samples(3, 2));
        var lifetime = TimeSpan.FromSeconds(4);
        var server = fixture.Server;

        // Short-lived tokens for this test's client only would need per-client lifetimes; the other tests of this
        // collection run one after the other, so the server-wide setting is restored at the end.
        server.AccessTokenLifetime = lifetime;
        try
        {
            await using var engine = await IngestionEngine.StartAsync(harness.Settings,
                new EngineOptions { Polling = PollingMode.Scheduled, Tokens = new AccessTokens(OAuthTokens.ProvidersFor(harness.Settings, store, ConfigPath)) }, CancellationToken.None);
            await WaitForAsync(async () => (await engine.GetStatusAsync()).Sum(s => s.Created) == 2, TimeSpan.FromSeconds(60));
            var refreshesBefore = server.Refreshes;
            var rejectedBefore = server.RejectedIntrospections;

            // Let the token expire while the mailbox keeps polling on its open connection, then end that connection so
            // the next poll must log in again.
            await Task.Delay(lifetime + TimeSpan.FromSeconds(1));
            fixture.Dovecot.Doveadm("kick", user.Name);
            fixture.Dovecot.LoadMessages(user.Name, "INBOX", Samples(3, 2, start: 2));

            await WaitForAsync(async () => (await engine.GetStatusAsync()).Sum(s => s.Created) == 4, TimeSpan.FromSeconds(60));
            await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
            Assert.True(server.Refreshes > refreshesBefore, "the expired token was not renewed");
            Assert.Equal(rejectedBefore, server.RejectedIntrospections);
            Assert.Equal(4, (await harness.ContainersAsync()).Count);
        }
        finally
        {
            server.AccessTokenLifetime = TimeSpan.FromHours(1);
        }
    }

    [Fact]
    public async Task A_revoked_refresh_token_stops_its_asset_with_a_clear_error_and_the_other_asset_keeps_ingesting()
    {
        using var harness = new EngineHarness(Store.Sqlite, []);
        var store = OAuthEngineFixture.NewStore(harness.Directory);
        var (good, goodUser) = fixture.SignedInAsset(store);
        var (revoked, revokedUser) = fixture.SignedInAsset(store);
        fixture.Dovecot.LoadMessages(goodUser.Name, "INBOX", Samples(4, 3));
        fixture.Dovecot.LoadMessages(revokedUser.Name, "INBOX", Samples(5, 3));
        fixture.Server.RevokeUser(revokedUser.Name);
        harness.Settings = harness.Settings with { Assets = [good, revoked] };
        var requestsBefore = fixture.Server.TokenRequests;

        var statuses = await RunOnceAsync(harness, store);

        var ok = statuses.Single(s => s.Mailbox.Asset == good.Name);
        Assert.False(ok.GaveUp, ok.LastError);
        Assert.Equal(3, ok.Created);
        var stopped = statuses.Single(s => s.Mailbox.Asset == revoked.Name);
        Assert.True(stopped.GaveUp);
        Assert.Equal(0, stopped.Created);
        Assert.Equal(
            $"TokenUnavailable: the refresh token for asset '{revoked.Name}' was revoked or expired; run `imapactors oauth authorize --config {ConfigPath} --asset {revoked.Name}`",
            stopped.LastError);

        // Not a busy loop: one refresh for the good asset, one per backoff-delayed attempt for the revoked one.
        Assert.InRange(fixture.Server.TokenRequests - requestsBefore, 2, 4);
        Assert.Equal(3, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task Test_connectivity_of_an_OAuth_asset_passes_and_names_the_step_that_fails()
    {
        using var harness = new EngineHarness(Store.Sqlite, []);
        var store = OAuthEngineFixture.NewStore(harness.Directory);
        var (good, _) = fixture.SignedInAsset(store);
        Assert.True((await ConnectivityAsync(harness, store, good)).Passed);

        // Tokens that have expired by the time of the test, so the provider must go to the token endpoint.
        var server = fixture.Server;
        server.AccessTokenLifetime = TimeSpan.FromSeconds(1);
        AssetSettings revoked, unreachable;
        DovecotUser revokedUser;
        try
        {
            (revoked, revokedUser) = fixture.SignedInAsset(store);
            (unreachable, _) = fixture.SignedInAsset(store);
        }
        finally
        {
            server.AccessTokenLifetime = TimeSpan.FromHours(1);
        }

        server.RevokeUser(revokedUser.Name);
        unreachable = unreachable with { OAuth = unreachable.OAuth! with { TokenUrl = "http://127.0.0.1:9/token" } };
        await Task.Delay(TimeSpan.FromSeconds(2));

        var refused = await ConnectivityAsync(harness, store, revoked);
        Assert.Equal(ImapFailureCause.TokenUnavailable, refused.Cause);
        Assert.StartsWith("OAuth token refresh refused: ", refused.Error, StringComparison.Ordinal);

        var noEndpoint = await ConnectivityAsync(harness, store, unreachable);
        Assert.Equal(ImapFailureCause.TokenEndpointUnreachable, noEndpoint.Cause);
        Assert.StartsWith("OAuth token endpoint unreachable: ", noEndpoint.Error, StringComparison.Ordinal);
    }

    private static Task<ConnectivityResult> ConnectivityAsync(EngineHarness harness, TokenStore store, AssetSettings asset) =>
        new TestConnectivity(new AccessTokens(OAuthTokens.ProvidersFor(harness.Settings with { Assets = [asset] }, store, ConfigPath)), ImapSessionFactory.Default)
            .RunAsync(asset, _ => { }, CancellationToken.None);

    private static async Task<List<MailboxStatus>> RunOnceAsync(EngineHarness harness, TokenStore store)
    {
        await using var engine = await IngestionEngine.StartAsync(harness.Settings,
            new EngineOptions { Polling = PollingMode.Once, Tokens = new AccessTokens(OAuthTokens.ProvidersFor(harness.Settings, store, ConfigPath)) }, CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var statuses = await engine.WhenCaughtUpAsync(cts.Token);
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        return statuses;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"not true within {timeout}");
            await Task.Delay(50);
        }
    }
}
