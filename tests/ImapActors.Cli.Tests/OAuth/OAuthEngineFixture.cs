using System.Security.Cryptography;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.OAuth;

/// <summary>A test authorization server and a private Dovecot that checks its tokens, shared by the OAuth engine and CLI tests.</summary>
public sealed class OAuthEngineFixture : IAsyncLifetime
{
    public OAuthTestServer Server { get; } = new();

    public DovecotInstance Dovecot { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Dovecot = OAuthDovecot.Start("oauth-engine", Server.IntrospectionUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Dovecot.Stop();
        await Server.DisposeAsync();
    }

    /// <summary>A registered client, as a provider console would give it.</summary>
    public (string Id, string Secret) NewClient()
    {
        var id = "client-" + Guid.NewGuid().ToString("N")[..8];
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        Server.AddClient(id, secret);
        return (id, secret);
    }

    /// <summary>An OAuth asset for a new Dovecot user, its grant already in <paramref name="store"/>.</summary>
    public (AssetSettings Asset, DovecotUser User) SignedInAsset(TokenStore store, string mechanism = "XOAUTH2", TimeSpan? pollInterval = null)
    {
        var user = Dovecot.CreateUser("oe");
        var (id, secret) = NewClient();
        var asset = Dovecot.Asset(user) with
        {
            Name = new AssetName("oauth-" + user.Name),
            AuthType = AuthType.OAuth,
            Password = null,
            PollInterval = pollInterval ?? TimeSpan.FromSeconds(60),
            OAuth = new OAuthSettings
            {
                Provider = "test",
                ClientId = id,
                ClientSecret = new Secret(secret),
                AuthUrl = Server.AuthUrl,
                TokenUrl = Server.TokenUrl,
                Scopes = ["https://mail.example/imap"],
                Mechanism = mechanism,
            },
        };
        var (_, refresh) = Server.IssueGrant(id, user.Name);
        store.Save(asset.Name, new StoredTokens(id, refresh, null, null));
        return (asset, user);
    }

    public static TokenStore NewStore(string directory) => new(Path.Combine(directory, "tokens"), RandomNumberGenerator.GetBytes(32));
}

[CollectionDefinition(Name)]
public sealed class OAuthEngineCollection : ICollectionFixture<OAuthEngineFixture>
{
    public const string Name = "OAuth engine";
}
