using System.Net;
using System.Web;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests.OAuth;

public sealed class AuthorizationCodeFlowTests : IAsyncLifetime
{
    private static readonly HttpClient Browser = new(new HttpClientHandler { AllowAutoRedirect = false });
    private readonly OAuthTestServer _server = new() { AuthorizeAs = "alice" };
    private readonly TokenStore _store;
    private readonly string _dir;

    public AuthorizationCodeFlowTests() => _store = OAuthTestSupport.NewStore(out _dir);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private (Task Flow, Task<string> Url, Domain.AssetSettings Asset) Start(TimeSpan? timeout = null)
    {
        var id = OAuthTestSupport.NewClient(_server);
        var asset = OAuthTestSupport.Asset("phish", "alice", OAuthTestSupport.Settings(_server, id, redirectPort: LoopbackPorts.Unused()));
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var flow = AuthorizationCodeFlow.RunAsync(asset, new OAuthTokenClient(OAuthTestSupport.Http, asset.OAuth!), _store, url.SetResult,
            timeout ?? TimeSpan.FromSeconds(30), CancellationToken.None);
        return (flow, url.Task, asset);
    }

    [Fact]
    public async Task The_authorization_url_has_pkce_state_offline_access_and_one_space_joined_scope()
    {
        var (flow, urlTask, asset) = Start(TimeSpan.FromSeconds(2));
        var url = new Uri(await urlTask);
        var query = HttpUtility.ParseQueryString(url.Query);

        Assert.Equal(_server.AuthUrl, url.GetLeftPart(UriPartial.Path));
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(asset.OAuth!.ClientId, query["client_id"]);
        Assert.Equal($"http://127.0.0.1:{asset.OAuth.RedirectPort}/", query["redirect_uri"]);
        Assert.Single(query.GetValues("scope")!);
        Assert.Equal("https://mail.example/imap offline_access", query["scope"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(43, query["code_challenge"]!.Length);
        Assert.True(query["state"]!.Length >= 32);
        Assert.Equal("offline", query["access_type"]);
        Assert.Equal("consent", query["prompt"]);
        Assert.DoesNotContain("secret", url.ToString(), StringComparison.Ordinal);

        var e = await Assert.ThrowsAsync<OAuthException>(() => flow);
        Assert.Contains("no sign-in came back", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_with_the_right_state_exchanges_the_code_and_stores_the_tokens()
    {
        var (flow, urlTask, asset) = Start();
        using var authorize = await Browser.GetAsync(new Uri(await urlTask));
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);

        using var callback = await Browser.GetAsync(authorize.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        await flow;

        var stored = _store.Load(asset.Name)!;
        Assert.Contains(stored.RefreshToken!, _server.IssuedRefreshTokens);
        Assert.Contains(stored.AccessToken!, _server.IssuedAccessTokens);
        Assert.Equal(asset.OAuth!.ClientId, stored.ClientId);
    }

    [Fact]
    public async Task A_redirect_with_a_wrong_state_gets_400_and_nothing_is_stored()
    {
        var (flow, urlTask, asset) = Start();
        using var authorize = await Browser.GetAsync(new Uri(await urlTask));
        var forged = authorize.Headers.Location!.ToString().Split("&state=")[0] + "&state=forged";

        using var callback = await Browser.GetAsync(new Uri(forged));
        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        var e = await Assert.ThrowsAsync<OAuthException>(() => flow);
        Assert.Contains("state", e.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was stored", e.Message, StringComparison.Ordinal);
        Assert.Null(_store.Load(asset.Name));
        Assert.Equal(0, _server.TokenRequests);
    }

    [Fact]
    public async Task An_error_from_the_authorization_server_is_shown()
    {
        var (flow, urlTask, asset) = Start();
        var state = HttpUtility.ParseQueryString(new Uri(await urlTask).Query)["state"];
        using var callback = await Browser.GetAsync(new Uri(
            $"http://127.0.0.1:{asset.OAuth!.RedirectPort}/?error=access_denied&error_description=The+user+declined&state={Uri.EscapeDataString(state!)}"));

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Contains("access_denied", await callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<OAuthException>(() => flow);
        Assert.Contains("access_denied: The user declined", e.Message, StringComparison.Ordinal);
        Assert.Null(_store.Load(asset.Name));
    }

    [Fact]
    public async Task A_stray_request_such_as_a_favicon_does_not_end_the_wait()
    {
        var (flow, urlTask, asset) = Start();
        using var favicon = await Browser.GetAsync(new Uri($"http://127.0.0.1:{asset.OAuth!.RedirectPort}/favicon.ico"));
        Assert.Equal(HttpStatusCode.NotFound, favicon.StatusCode);

        using var authorize = await Browser.GetAsync(new Uri(await urlTask));
        using var callback = await Browser.GetAsync(authorize.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        await flow;
        Assert.NotNull(_store.Load(asset.Name));
    }
}
