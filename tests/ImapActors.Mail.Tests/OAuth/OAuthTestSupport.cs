using System.Security.Cryptography;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests.OAuth;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

internal static class OAuthTestSupport
{
    public static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public static OAuthSettings Settings(OAuthTestServer server, string clientId, string grant = "authorization_code", string mechanism = "XOAUTH2",
        int redirectPort = 8765) => new()
    {
        Provider = "test",
        ClientId = clientId,
        ClientSecret = new Secret("secret-of-" + clientId),
        AuthUrl = server.AuthUrl,
        TokenUrl = server.TokenUrl,
        Scopes = ["https://mail.example/imap", "offline_access"],
        GrantType = grant,
        Mechanism = mechanism,
        RedirectPort = redirectPort,
    };

    public static string NewClient(OAuthTestServer server, string? appUser = null)
    {
        var id = "client-" + Guid.NewGuid().ToString("N")[..8];
        server.AddClient(id, "secret-of-" + id, appUser);
        return id;
    }

    public static AssetSettings Asset(string name, string user, OAuthSettings oauth) => new()
    {
        Name = new AssetName(name),
        Server = "127.0.0.1",
        Username = user,
        AuthType = AuthType.OAuth,
        OAuth = oauth,
    };

    public static TokenStore NewStore(out string directory)
    {
        directory = Directory.CreateTempSubdirectory("imapactors-tokens-").FullName;
        return new TokenStore(Path.Combine(directory, "tokens"), RandomNumberGenerator.GetBytes(32));
    }

}
