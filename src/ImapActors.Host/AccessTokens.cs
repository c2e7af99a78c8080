using ImapActors.Configuration;
using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Mail.OAuth;
using ImapActors.Storage;

namespace ImapActors.Host;

/// <summary>The OAuth token provider of each asset (null for Basic assets), shared by its mailboxes and the actions.</summary>
public sealed class AccessTokens(Func<AssetSettings, IAccessTokenProvider?> providers)
{
    /// <summary>No OAuth at all: every asset gets null, and an OAuth asset fails its login saying no token is available.</summary>
    public static AccessTokens None { get; } = new(_ => null);

    public IAccessTokenProvider? For(AssetSettings asset) => providers(asset);

    /// <summary>
    /// The providers of a loaded configuration's OAuth assets, with the token store it names (needed only by
    /// authorization_code assets): the file is not read again.
    /// </summary>
    /// <exception cref="OAuthException">An authorization_code asset exists and no token-store key is configured.</exception>
    public static AccessTokens FromConfiguration(LoadedConfiguration configuration, string configPath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return FromConfiguration(configuration.Engine, NeedsStore(configuration.Engine) ? configuration.OAuthStore : null, configPath);
    }

    private static bool NeedsStore(EngineSettings settings) =>
        settings.Assets.Any(a => a.AuthType == AuthType.OAuth && a.OAuth?.GrantType != "client_credentials");

    private static AccessTokens FromConfiguration(EngineSettings settings, OAuthStoreSettings? store, string configPath)
    {
        // Without a key the providers refuse, naming the asset that needs one.
        var tokenStore = store?.Key is null ? null : OpenStore(settings, store);
        return new AccessTokens(OAuthTokens.ProvidersFor(settings, tokenStore, configPath));
    }

    /// <summary>
    /// The token store a loaded configuration names: its folder of files, or its storage database. A caller disposes it
    /// when it is <see cref="IDisposable"/>.
    /// </summary>
    /// <exception cref="OAuthException">No key is configured, or it is not a 32-byte base64 key.</exception>
    public static ITokenStore OpenStore(LoadedConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return OpenStore(configuration.Engine, configuration.OAuthStore);
    }

    private static ITokenStore OpenStore(EngineSettings settings, OAuthStoreSettings store) => store.Store switch
    {
        TokenStoreKind.Database => DatabaseTokenStore.Create(settings.Storage, store.Key),
        _ => TokenStore.Open(store.TokenStorePath, store.Key),
    };
}
