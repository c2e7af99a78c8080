using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests.OAuth;

public sealed class OAuthTokenProviderTests : IAsyncLifetime
{
    private const string Command = "imapactors oauth authorize --config /etc/imapactors.conf --asset phish";
    private readonly OAuthTestServer _server = new();
    private readonly TokenStore _store;
    private readonly string _dir;
    private readonly ManualClock _clock = new();

    public OAuthTokenProviderTests() => _store = OAuthTestSupport.NewStore(out _dir);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private (OAuthTokenProvider Provider, AssetSettings Asset) Provider(string user, string grant = "authorization_code")
    {
        var id = OAuthTestSupport.NewClient(_server, grant == "client_credentials" ? user : null);
        var asset = OAuthTestSupport.Asset("phish", user, OAuthTestSupport.Settings(_server, id, grant));
        if (grant == "authorization_code")
        {
            var (_, refresh) = _server.IssueGrant(id, user);
            _store.Save(asset.Name, new StoredTokens(id, refresh, null, null));
        }

        var client = new OAuthTokenClient(OAuthTestSupport.Http, asset.OAuth!);
        return (new OAuthTokenProvider(asset, client, grant == "authorization_code" ? _store : null, Command, _clock), asset);
    }

    [Fact]
    public async Task The_token_is_cached_and_renewed_a_margin_before_it_expires()
    {
        _server.AccessTokenLifetime = TimeSpan.FromMinutes(10);
        var (provider, _) = Provider("alice");

        var first = await provider.GetAccessTokenAsync(false, CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(8));
        Assert.Equal(first, await provider.GetAccessTokenAsync(false, CancellationToken.None));
        Assert.Equal(1, _server.Refreshes);

        // 9.5 minutes in: inside the 60 s margin, so renewed although not yet expired.
        _clock.Advance(TimeSpan.FromSeconds(90));
        var second = await provider.GetAccessTokenAsync(false, CancellationToken.None);
        Assert.NotEqual(first, second);
        Assert.Equal(2, _server.Refreshes);
    }

    [Fact]
    public async Task A_short_lived_token_is_renewed_a_tenth_of_its_lifetime_early()
    {
        _server.AccessTokenLifetime = TimeSpan.FromSeconds(100);
        var (provider, _) = Provider("alice");
        var first = await provider.GetAccessTokenAsync(false, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(89));
        Assert.Equal(first, await provider.GetAccessTokenAsync(false, CancellationToken.None));
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.NotEqual(first, await provider.GetAccessTokenAsync(false, CancellationToken.None));
    }

    [Fact]
    public async Task A_forced_refresh_renews_once_and_the_rotated_refresh_token_is_stored()
    {
        var (provider, asset) = Provider("bob");
        var before = _store.Load(asset.Name)!.RefreshToken;
        var first = await provider.GetAccessTokenAsync(false, CancellationToken.None);
        var afterFirst = _store.Load(asset.Name)!;
        Assert.NotEqual(before, afterFirst.RefreshToken);
        Assert.Equal(first, afterFirst.AccessToken);

        _clock.Advance(TimeSpan.FromSeconds(5));
        var forced = await provider.GetAccessTokenAsync(true, CancellationToken.None);
        Assert.NotEqual(first, forced);
        Assert.Equal(2, _server.Refreshes);
        Assert.NotEqual(afterFirst.RefreshToken, _store.Load(asset.Name)!.RefreshToken);
    }

    [Fact]
    public async Task Mailboxes_asking_at_once_share_one_refresh()
    {
        var (provider, _) = Provider("carol");
        var tokens = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => provider.GetAccessTokenAsync(false, CancellationToken.None))));
        Assert.Single(tokens.Distinct());
        Assert.Equal(1, _server.Refreshes);

        // Several mailboxes rejected with the same token force one refresh between them.
        _clock.Advance(TimeSpan.FromSeconds(10));
        var forced = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => provider.GetAccessTokenAsync(true, CancellationToken.None))));
        Assert.Single(forced.Distinct());
        Assert.Equal(2, _server.Refreshes);
    }

    [Fact]
    public async Task A_revoked_refresh_token_names_the_asset_and_the_command_that_fixes_it()
    {
        var (provider, _) = Provider("dave");
        _server.RevokeUser("dave");

        var e = await Assert.ThrowsAsync<OAuthGrantRevokedException>(() => provider.GetAccessTokenAsync(false, CancellationToken.None));
        Assert.Equal($"the refresh token for asset 'phish' was revoked or expired; run `{Command}`", e.Message);
    }

    [Fact]
    public async Task No_stored_grant_asks_for_a_sign_in()
    {
        var (provider, asset) = Provider("erin");
        File.Delete(_store.PathFor(asset.Name));
        var e = await Assert.ThrowsAsync<OAuthGrantRevokedException>(() => provider.GetAccessTokenAsync(false, CancellationToken.None));
        Assert.Contains(Command, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stored_access_token_still_valid_is_used_without_a_refresh()
    {
        var (provider, asset) = Provider("frank");
        var stored = _store.Load(asset.Name)!;
        _store.Save(asset.Name, stored with { AccessToken = "at-stored", AccessTokenExpires = _clock.GetUtcNow().AddMinutes(30) });

        Assert.Equal("at-stored", await provider.GetAccessTokenAsync(false, CancellationToken.None));
        Assert.Equal(0, _server.Refreshes);

        // The server rejected it (revoked before its time): the forced refresh renews it at once.
        Assert.NotEqual("at-stored", await provider.GetAccessTokenAsync(true, CancellationToken.None));
        Assert.Equal(1, _server.Refreshes);
    }

    [Fact]
    public async Task Client_credentials_fetches_a_new_app_token_when_needed_and_stores_nothing()
    {
        _server.AccessTokenLifetime = TimeSpan.FromMinutes(5);
        var (provider, asset) = Provider("shared@example.org", "client_credentials");
        var first = await provider.GetAccessTokenAsync(false, CancellationToken.None);
        Assert.Equal(first, await provider.GetAccessTokenAsync(false, CancellationToken.None));
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.NotEqual(first, await provider.GetAccessTokenAsync(false, CancellationToken.None));
        Assert.Equal(2, _server.TokenRequests);
        Assert.False(File.Exists(_store.PathFor(asset.Name)));
    }

    [Fact]
    public async Task Processes_sharing_one_store_refresh_once_per_expiry_between_them_and_adopt_each_other_s_token()
    {
        _server.AccessTokenLifetime = TimeSpan.FromMinutes(10);
        var (first, asset) = Provider("grace");

        // Three nodes: one provider each, over the same store; the server rotates refresh tokens, so a second refresh
        // with the same refresh token would lose the grant.
        var client = new OAuthTokenClient(OAuthTestSupport.Http, asset.OAuth!);
        var nodes = new[] { first, new OAuthTokenProvider(asset, client, _store, Command, _clock), new OAuthTokenProvider(asset, client, _store, Command, _clock) };
        var tokens = await Task.WhenAll(nodes.Select(n => n.GetAccessTokenAsync(false, CancellationToken.None)));
        Assert.Single(tokens.Distinct());
        Assert.Equal(1, _server.Refreshes);

        for (var expiry = 2; expiry <= 4; expiry++)
        {
            _clock.Advance(TimeSpan.FromSeconds(570));
            var renewed = await Task.WhenAll(nodes.Select(n => n.GetAccessTokenAsync(false, CancellationToken.None)));
            Assert.Single(renewed.Distinct());
            Assert.DoesNotContain(renewed[0], tokens);
            Assert.Equal(expiry, _server.Refreshes);
            tokens = renewed;
        }

        // The server rejects the token on every node (seconds later: a forced refresh right after a refresh reuses it):
        // the first forced refresh renews it, the others take that one.
        _clock.Advance(TimeSpan.FromSeconds(5));
        var forced = await Task.WhenAll(nodes.Select(n => n.GetAccessTokenAsync(true, CancellationToken.None)));
        Assert.Single(forced.Distinct());
        Assert.NotEqual(tokens[0], forced[0]);
        Assert.Equal(5, _server.Refreshes);
        Assert.Equal(0, _server.RejectedIntrospections);
    }
}
