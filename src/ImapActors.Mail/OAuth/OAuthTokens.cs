using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>The token providers of a configuration's OAuth assets, in the shape the engine takes (<c>EngineOptions.Tokens</c>).</summary>
public static class OAuthTokens
{
    /// <summary>The command line that signs an asset in again, as error messages quote it.</summary>
    public static string AuthorizeCommand(string configPath, AssetName asset)
    {
        ArgumentNullException.ThrowIfNull(asset);
        return $"imapactors oauth authorize --config {Quote(configPath)} --asset {Quote(asset.Value)}";
    }

    /// <summary>
    /// One <see cref="OAuthTokenProvider"/> per OAuth asset of <paramref name="settings"/>, made now so that every
    /// mailbox of an asset shares it; Basic assets get null.
    /// </summary>
    /// <param name="settings">The engine's settings.</param>
    /// <param name="store">The token store; required when an asset uses the authorization_code grant.</param>
    /// <param name="configPath">The configuration file, quoted in the "sign in again" message.</param>
    /// <param name="http">The HTTP client for the token endpoints; null makes one.</param>
    /// <param name="time">The clock; null is the system clock.</param>
    /// <exception cref="OAuthException">An authorization_code asset exists but no store (no key) was given.</exception>
    public static Func<AssetSettings, IAccessTokenProvider?> ProvidersFor(EngineSettings settings, ITokenStore? store, string configPath,
        HttpClient? http = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var oauthAssets = settings.Assets.Where(a => a.AuthType == AuthType.OAuth && a.OAuth is not null).ToList();
        if (store is null && oauthAssets.FirstOrDefault(a => a.OAuth!.GrantType != "client_credentials") is { } first)
        {
            throw new OAuthException(
                $"asset '{first.Name}' uses OAuth but no token-store key is configured: set imapactors.oauth.key_file or key_env; " +
                $"make a key with: {TokenStore.KeyHowTo}");
        }

        var client = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var providers = oauthAssets.ToDictionary(
            a => a.Name,
            a => (IAccessTokenProvider)new OAuthTokenProvider(a, new OAuthTokenClient(client, a.OAuth!), store, AuthorizeCommand(configPath, a.Name), time));
        return asset => providers.GetValueOrDefault(asset.Name);
    }

    private static string Quote(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':')
            ? text
            : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
