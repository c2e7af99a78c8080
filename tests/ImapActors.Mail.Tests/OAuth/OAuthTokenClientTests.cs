using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests.OAuth;

public sealed class OAuthTokenClientTests : IAsyncLifetime
{
    private readonly OAuthTestServer _server = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Refresh_returns_a_new_access_token_and_the_rotated_refresh_token()
    {
        var id = OAuthTestSupport.NewClient(_server);
        var (_, refresh) = _server.IssueGrant(id, "alice");
        _server.AccessTokenLifetime = TimeSpan.FromSeconds(90);
        var client = new OAuthTokenClient(OAuthTestSupport.Http, OAuthTestSupport.Settings(_server, id));

        var response = await client.RefreshAsync(refresh, CancellationToken.None);

        Assert.StartsWith("at-", response.AccessToken, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(90), response.ExpiresIn);
        Assert.NotNull(response.RefreshToken);
        Assert.NotEqual(refresh, response.RefreshToken);
        Assert.DoesNotContain(response.AccessToken, response.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_refresh_token_is_an_OAuthGrantRevokedException()
    {
        var id = OAuthTestSupport.NewClient(_server);
        var (_, refresh) = _server.IssueGrant(id, "bob");
        _server.RevokeUser("bob");
        var client = new OAuthTokenClient(OAuthTestSupport.Http, OAuthTestSupport.Settings(_server, id));

        var e = await Assert.ThrowsAsync<OAuthGrantRevokedException>(() => client.RefreshAsync(refresh, CancellationToken.None));
        Assert.Contains("invalid_grant", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(refresh, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_client_secret_is_an_OAuthException_but_not_a_revoked_grant()
    {
        var id = OAuthTestSupport.NewClient(_server);
        var (_, refresh) = _server.IssueGrant(id, "carol");
        var settings = OAuthTestSupport.Settings(_server, id) with { ClientSecret = new Domain.Secret("wrong") };
        var client = new OAuthTokenClient(OAuthTestSupport.Http, settings);

        var e = await Assert.ThrowsAsync<OAuthException>(() => client.RefreshAsync(refresh, CancellationToken.None));
        Assert.IsType<OAuthException>(e);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_credentials_gets_an_app_only_token_without_a_refresh_token()
    {
        var id = OAuthTestSupport.NewClient(_server, appUser: "shared-mailbox");
        var client = new OAuthTokenClient(OAuthTestSupport.Http, OAuthTestSupport.Settings(_server, id, grant: "client_credentials"));

        var response = await client.ClientCredentialsAsync(CancellationToken.None);

        Assert.StartsWith("at-", response.AccessToken, StringComparison.Ordinal);
        Assert.Null(response.RefreshToken);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_an_OAuthEndpointUnreachableException()
    {
        var settings = OAuthTestSupport.Settings(_server, "x") with { TokenUrl = $"http://127.0.0.1:{LoopbackPorts.Unused()}/token" };
        var client = new OAuthTokenClient(OAuthTestSupport.Http, settings);

        await Assert.ThrowsAsync<OAuthEndpointUnreachableException>(() => client.RefreshAsync("rt", CancellationToken.None));
    }

    [Fact]
    public async Task An_endpoint_that_never_answers_times_out_as_unreachable()
    {
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
            var settings = OAuthTestSupport.Settings(_server, "x") with { TokenUrl = $"http://127.0.0.1:{port}/token" };
            var client = new OAuthTokenClient(OAuthTestSupport.Http, settings, TimeSpan.FromMilliseconds(500));

            var e = await Assert.ThrowsAsync<OAuthEndpointUnreachableException>(() => client.RefreshAsync("rt", CancellationToken.None));
            Assert.Contains("did not answer", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            silent.Stop();
        }
    }
}
