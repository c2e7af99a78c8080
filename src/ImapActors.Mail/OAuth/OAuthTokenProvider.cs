using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>
/// The access tokens of one OAuth asset, shared by all its mailboxes. It keeps the current token and refreshes it
/// before it expires (60 s, or a tenth of a short lifetime, ahead), and once more when the server rejected it.
/// authorization_code assets refresh with the stored refresh token and store a rotated one; client_credentials
/// assets ask for a new app-only token. A revoked or missing grant throws <see cref="OAuthGrantRevokedException"/>
/// naming the command that fixes it. Thread-safe: one refresh at a time.
/// <para>
/// authorization_code tokens are shared through the token store: a token another process stored (another node
/// refreshed, or <c>oauth authorize</c> signed in again) is used as it is, and a refresh happens under the store's lock
/// of the asset after reading the stored tokens again, so processes sharing one store refresh once per expiry between
/// them, never twice with the same refresh token.
/// </para>
/// </summary>
public sealed class OAuthTokenProvider : IAccessTokenProvider, IDisposable
{
    /// <summary>The longest time before expiry at which a token is renewed.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromSeconds(60);

    // Several mailboxes rejected with the same token all ask for a forced refresh; one refresh serves them all.
    private static readonly TimeSpan ForcedRefreshReuse = TimeSpan.FromSeconds(2);

    private readonly AssetSettings _asset;
    private readonly OAuthSettings _oauth;
    private readonly OAuthTokenClient _client;
    private readonly ITokenStore? _store;
    private readonly string _authorizeCommand;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _accessToken;
    private DateTimeOffset _renewAt;
    private DateTimeOffset _fetchedAt;

    /// <param name="asset">An asset with <c>auth_type = OAuth</c>.</param>
    /// <param name="client">The client of the asset's token endpoint.</param>
    /// <param name="store">The token store; required for authorization_code assets.</param>
    /// <param name="authorizeCommand">The command line that signs in again, quoted in the error of a revoked grant.</param>
    /// <param name="time">The clock; null is the system clock.</param>
    public OAuthTokenProvider(AssetSettings asset, OAuthTokenClient client, ITokenStore? store, string authorizeCommand, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(client);
        _asset = asset;
        _oauth = asset.OAuth ?? throw new ArgumentException($"asset '{asset.Name}' has no OAuth settings", nameof(asset));
        _client = client;
        _store = store;
        _authorizeCommand = authorizeCommand;
        _time = time ?? TimeProvider.System;
        if (!IsClientCredentials && store is null)
        {
            throw new ArgumentException($"asset '{asset.Name}' uses authorization_code and needs a token store", nameof(store));
        }
    }

    private bool IsClientCredentials => _oauth.GrantType == "client_credentials";

    /// <inheritdoc/>
    /// <exception cref="OAuthGrantRevokedException">A new sign-in is needed: the refresh token was revoked or expired, or none is stored.</exception>
    /// <exception cref="OAuthEndpointUnreachableException">The token endpoint is unreachable; try again later.</exception>
    /// <exception cref="OAuthException">The token endpoint refused the request or the token file cannot be used.</exception>
    public async Task<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            if (_accessToken is not null && (forceRefresh ? now - _fetchedAt < ForcedRefreshReuse : now < _renewAt))
            {
                return _accessToken;
            }

            if (IsClientCredentials)
            {
                Remember(await _client.ClientCredentialsAsync(cancellationToken).ConfigureAwait(false), now);
                return _accessToken!;
            }

            // Read the store each time: another process may have refreshed, or `oauth authorize` stored a new grant.
            var rejected = forceRefresh ? _accessToken : null;
            if (Usable(Check(_store!.Load(_asset.Name)), now, rejected) is { } shared)
            {
                return Adopt(shared, now);
            }

            string? token = null;
            await _store.UpdateAsync(_asset.Name, async (current, ct) =>
            {
                // Under the lock: whoever held it before may have refreshed while this one waited.
                var stored = Check(current);
                var at = _time.GetUtcNow();
                if (Usable(stored, at, rejected) is { } fresh)
                {
                    token = Adopt(fresh, at);
                    return null;
                }

                TokenResponse response;
                try
                {
                    response = await _client.RefreshAsync(stored.RefreshToken!, ct).ConfigureAwait(false);
                }
                catch (OAuthGrantRevokedException e)
                {
                    _accessToken = null;
                    throw new OAuthGrantRevokedException(
                        $"the refresh token for asset '{_asset.Name}' was revoked or expired; run `{_authorizeCommand}`", e);
                }

                Remember(response, at);
                token = response.AccessToken;
                return new StoredTokens(_oauth.ClientId, response.RefreshToken ?? stored.RefreshToken, response.AccessToken,
                    at + (response.ExpiresIn ?? TimeSpan.FromHours(1)), at);
            }, cancellationToken).ConfigureAwait(false);
            return token!;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>The stored tokens when they hold a grant of the configured client.</summary>
    /// <exception cref="OAuthGrantRevokedException">No refresh token is stored, or one of another client.</exception>
    private StoredTokens Check(StoredTokens? stored)
    {
        if (stored?.RefreshToken is null)
        {
            throw new OAuthGrantRevokedException(
                $"no OAuth refresh token is stored for asset '{_asset.Name}'; run `{_authorizeCommand}`");
        }

        if (stored.ClientId is not null && _oauth.ClientId is not null && stored.ClientId != _oauth.ClientId)
        {
            throw new OAuthGrantRevokedException(
                $"the stored OAuth tokens of asset '{_asset.Name}' belong to another client_id; run `{_authorizeCommand}`");
        }

        return stored;
    }

    /// <summary><paramref name="stored"/> when its access token is not yet due for renewal and is not the one the server rejected.</summary>
    private static StoredTokens? Usable(StoredTokens stored, DateTimeOffset now, string? rejected) =>
        stored.AccessToken is not null && stored.AccessToken != rejected && stored.AccessTokenExpires is { } expires
        && now < RenewAt(stored.AccessTokenIssued ?? now, expires - (stored.AccessTokenIssued ?? now))
            ? stored
            : null;

    private string Adopt(StoredTokens stored, DateTimeOffset now)
    {
        var issued = stored.AccessTokenIssued ?? now;
        _accessToken = stored.AccessToken;
        _renewAt = RenewAt(issued, stored.AccessTokenExpires!.Value - issued);

        // Not fetched just now: if the server rejects it, a forced refresh must renew it.
        _fetchedAt = DateTimeOffset.MinValue;
        return _accessToken!;
    }

    private void Remember(TokenResponse response, DateTimeOffset now)
    {
        _accessToken = response.AccessToken;
        _fetchedAt = now;

        // A server that states no lifetime: assume the common hour, and rely on the forced refresh if it is shorter.
        _renewAt = RenewAt(now, response.ExpiresIn ?? TimeSpan.FromHours(1));
    }

    private static DateTimeOffset RenewAt(DateTimeOffset now, TimeSpan lifetime)
    {
        var margin = TimeSpan.FromTicks(Math.Min(RefreshMargin.Ticks, lifetime.Ticks / 10));
        return now + lifetime - margin;
    }

    public void Dispose() => _lock.Dispose();
}
