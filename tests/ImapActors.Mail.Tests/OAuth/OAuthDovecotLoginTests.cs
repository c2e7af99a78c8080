using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests.OAuth;

/// <summary>A private Dovecot whose oauth2 passdb asks a test introspection endpoint, shared by the tests of one class.</summary>
public sealed class OAuthDovecotFixture : IAsyncLifetime
{
    public OAuthTestServer Server { get; } = new();

    public DovecotInstance Dovecot { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Dovecot = OAuthDovecot.Start("oauth-mail", Server.IntrospectionUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Dovecot.Stop();
        await Server.DisposeAsync();
    }
}

public sealed class OAuthDovecotLoginTests : IClassFixture<OAuthDovecotFixture>, IDisposable
{
    private readonly OAuthDovecotFixture _fixture;
    private readonly TokenStore _store;
    private readonly string _dir;

    public OAuthDovecotLoginTests(OAuthDovecotFixture fixture)
    {
        _fixture = fixture;
        _store = OAuthTestSupport.NewStore(out _dir);
    }

    private (AssetSettings Asset, OAuthTokenProvider Provider) OAuthAsset(string mechanism)
    {
        var user = _fixture.Dovecot.CreateUser("oa");
        var id = OAuthTestSupport.NewClient(_fixture.Server);
        var asset = _fixture.Dovecot.Asset(user) with
        {
            Name = new AssetName("oauth-" + user.Name),
            AuthType = AuthType.OAuth,
            Password = null,
            OAuth = OAuthTestSupport.Settings(_fixture.Server, id, mechanism: mechanism),
        };
        var (_, refresh) = _fixture.Server.IssueGrant(id, user.Name);
        _store.Save(asset.Name, new StoredTokens(id, refresh, null, null));
        var provider = new OAuthTokenProvider(asset, new OAuthTokenClient(OAuthTestSupport.Http, asset.OAuth!), _store,
            OAuthTokens.AuthorizeCommand("/etc/imapactors.conf", asset.Name));
        return (asset, provider);
    }

    [Theory]
    [InlineData("XOAUTH2")]
    [InlineData("OAUTHBEARER")]
    public async Task Dovecot_accepts_the_providers_token(string mechanism)
    {
        var (asset, provider) = OAuthAsset(mechanism);
        await using var session = await ImapSession.ConnectAsync(asset, provider, null, CancellationToken.None);
        var status = await session.ExamineAsync("INBOX", CancellationToken.None);
        Assert.Equal(0, status.Count);
    }

    [Fact]
    public async Task A_revoked_grant_is_a_TokenUnavailable_failure_that_says_how_to_sign_in_again()
    {
        var (asset, provider) = OAuthAsset("XOAUTH2");
        _fixture.Server.RevokeUser(asset.Username);

        var e = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(asset, provider, null, CancellationToken.None));
        Assert.Equal(ImapFailureCause.TokenUnavailable, e.Cause);
        Assert.False(e.IsTransient);
        Assert.Equal(
            $"the refresh token for asset '{asset.Name}' was revoked or expired; run `imapactors oauth authorize --config /etc/imapactors.conf --asset {asset.Name}`",
            e.Message);
    }

    [Fact]
    public async Task A_token_endpoint_that_is_down_is_a_transient_failure()
    {
        var (asset, _) = OAuthAsset("XOAUTH2");
        var down = asset.OAuth! with { TokenUrl = $"http://127.0.0.1:{LoopbackPorts.Unused()}/token" };
        var provider = new OAuthTokenProvider(asset with { OAuth = down }, new OAuthTokenClient(OAuthTestSupport.Http, down), _store, "x");

        var e = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(asset, provider, null, CancellationToken.None));
        Assert.True(e.IsTransient);
    }

    public void Dispose() => Directory.Delete(_dir, true);
}
