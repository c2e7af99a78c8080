using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>
/// The one-time sign-in of an authorization_code asset: the authorization URL with PKCE (S256) and a random
/// <c>state</c>, a loopback listener on <c>http://127.0.0.1:redirect_port/</c> that receives the browser's
/// redirect, the code exchange, and the tokens written to the store. A redirect with another state is refused
/// (HTTP 400) and nothing is stored.
/// </summary>
public static class AuthorizationCodeFlow
{
    /// <summary>How long <see cref="RunAsync"/> waits for the browser by default.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The redirect URI registered with the provider for <paramref name="port"/>.</summary>
    public static string RedirectUri(int port) => $"http://127.0.0.1:{port}/";

    /// <summary>A PKCE pair: a random verifier (43 URL-safe characters) and its S256 challenge (RFC 7636).</summary>
    public static (string Verifier, string Challenge) CreatePkce()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        var challenge = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return (verifier, challenge);
    }

    /// <summary>
    /// The URL the user opens: <c>response_type=code</c>, the client id, redirect URI, the scopes space-joined in one
    /// <c>scope</c> parameter, <c>state</c>, the PKCE challenge, <c>access_type=offline</c> and <c>prompt=consent</c>
    /// (so Google issues a refresh token every time).
    /// </summary>
    public static string AuthorizationUrl(OAuthSettings settings, string redirectUri, string state, string codeChallenge)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var query = new (string Key, string Value)[]
        {
            ("response_type", "code"),
            ("client_id", settings.ClientId ?? ""),
            ("redirect_uri", redirectUri),
            ("scope", string.Join(' ', settings.Scopes)),
            ("state", state),
            ("code_challenge", codeChallenge),
            ("code_challenge_method", "S256"),
            ("access_type", "offline"),
            ("prompt", "consent"),
        };
        var separator = settings.AuthUrl.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        return settings.AuthUrl + separator + string.Join('&', query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
    }

    /// <summary>
    /// Runs the sign-in: starts the loopback listener, hands the authorization URL to <paramref name="showUrl"/>, waits
    /// for the redirect, exchanges the code and stores the tokens.
    /// </summary>
    /// <param name="asset">An OAuth asset with the authorization_code grant.</param>
    /// <param name="client">The client of the asset's token endpoint.</param>
    /// <param name="store">Where the tokens go.</param>
    /// <param name="showUrl">Shows the URL to the user (it holds no secret).</param>
    /// <param name="timeout">How long to wait for the browser.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="OAuthException">
    /// The redirect carried another state or an error, the exchange failed, or nothing came back in time; nothing was stored.
    /// </exception>
    public static async Task RunAsync(AssetSettings asset, OAuthTokenClient client, ITokenStore store, Action<string> showUrl, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(showUrl);
        var oauth = asset.OAuth ?? throw new OAuthException($"asset '{asset.Name}' has no OAuth settings (auth_type = OAuth)");
        if (oauth.GrantType == "client_credentials")
        {
            throw new OAuthException($"asset '{asset.Name}' uses client_credentials: it needs no sign-in");
        }

        var redirectUri = RedirectUri(oauth.RedirectPort);
        var state = Base64Url(RandomNumberGenerator.GetBytes(24));
        var (verifier, challenge) = CreatePkce();
        var listener = new TcpListener(IPAddress.Loopback, oauth.RedirectPort);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new OAuthException($"cannot listen on {redirectUri} for the sign-in redirect (redirect_port {oauth.RedirectPort}): {e.Message}", e);
        }

        try
        {
            showUrl(AuthorizationUrl(oauth, redirectUri, state, challenge));
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            while (true)
            {
                TcpClient connection;
                try
                {
                    connection = await listener.AcceptTcpClientAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new OAuthException(
                        $"no sign-in came back to {redirectUri} within {timeout.TotalMinutes:0.#} min; nothing was stored. Run the command again and open the URL it prints");
                }

                using (connection)
                {
                    if (await HandleAsync(connection, asset, client, store, state, verifier, redirectUri, deadline.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Answers one browser request; true once the tokens are stored, false for a request to ignore.</summary>
    private static async Task<bool> HandleAsync(TcpClient connection, AssetSettings asset, OAuthTokenClient client, ITokenStore store, string state,
        string verifier, string redirectUri, CancellationToken ct)
    {
        var stream = connection.GetStream();
        var target = await ReadRequestTargetAsync(stream, ct).ConfigureAwait(false);
        var query = target is null ? [] : ParseQuery(target);
        if (!query.ContainsKey("state") && !query.ContainsKey("code") && !query.ContainsKey("error"))
        {
            // A favicon or a stray request: not the redirect.
            await RespondAsync(stream, 404, "Not the sign-in redirect.", ct).ConfigureAwait(false);
            return false;
        }

        if (!query.TryGetValue("state", out var returned) || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(returned), Encoding.UTF8.GetBytes(state)))
        {
            await RespondAsync(stream, 400, "Sign-in refused: the state does not match the one this sign-in sent. Nothing was stored.", ct)
                .ConfigureAwait(false);
            throw new OAuthException(
                $"sign-in of asset '{asset.Name}' refused: the redirect carried a state that this sign-in did not send (a stale or forged link); nothing was stored");
        }

        if (query.TryGetValue("error", out var error))
        {
            var description = query.GetValueOrDefault("error_description");
            var what = description is null ? error : $"{error}: {description}";
            await RespondAsync(stream, 400, $"Sign-in failed: {what}", ct).ConfigureAwait(false);
            throw new OAuthException($"sign-in of asset '{asset.Name}' failed: the authorization server returned {what}; nothing was stored");
        }

        if (!query.TryGetValue("code", out var code) || code.Length == 0)
        {
            await RespondAsync(stream, 400, "Sign-in failed: the redirect carried no code.", ct).ConfigureAwait(false);
            throw new OAuthException($"sign-in of asset '{asset.Name}' failed: the redirect carried no code; nothing was stored");
        }

        TokenResponse tokens;
        try
        {
            tokens = await client.ExchangeCodeAsync(code, verifier, redirectUri, ct).ConfigureAwait(false);
        }
        catch (OAuthException e)
        {
            await RespondAsync(stream, 502, "Sign-in failed: the code could not be exchanged for tokens. See the command's output.", ct).ConfigureAwait(false);
            throw new OAuthException($"sign-in of asset '{asset.Name}' failed: {e.Message}; nothing was stored", e);
        }

        if (tokens.RefreshToken is null)
        {
            await RespondAsync(stream, 502, "Sign-in failed: the server issued no refresh token. See the command's output.", ct).ConfigureAwait(false);
            throw new OAuthException(
                $"sign-in of asset '{asset.Name}' failed: the token endpoint issued no refresh token (check the offline_access scope or access_type=offline); nothing was stored");
        }

        var now = DateTimeOffset.UtcNow;
        store.Save(asset.Name, new StoredTokens(asset.OAuth!.ClientId, tokens.RefreshToken, tokens.AccessToken, now + (tokens.ExpiresIn ?? TimeSpan.FromHours(1))));
        await RespondAsync(stream, 200, $"Signed in: ImapActors stored the tokens of asset '{asset.Name}'. You can close this page.", ct).ConfigureAwait(false);
        return true;
    }

    private static async Task<string?> ReadRequestTargetAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            length += n;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                break;
            }
        }

        var head = Encoding.ASCII.GetString(buffer, 0, length);
        var line = head.Split("\r\n", 2)[0].Split(' ');
        return line.Length >= 2 && line[0] == "GET" ? line[1] : null;
    }

    private static Dictionary<string, string> ParseQuery(string target)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var q = target.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return result;
        }

        foreach (var pair in target[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Unescape(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Unescape(pair[(eq + 1)..]);
            result.TryAdd(key, value);
        }

        return result;
    }

    private static string Unescape(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));

    private static async Task RespondAsync(NetworkStream stream, int status, string message, CancellationToken ct)
    {
        var reason = status switch { 200 => "OK", 400 => "Bad Request", 404 => "Not Found", _ => "Bad Gateway" };
        var body = Encoding.UTF8.GetBytes(
            $"<!doctype html><html><head><meta charset=\"utf-8\"><title>ImapActors sign-in</title></head><body><p>{WebUtility.HtmlEncode(message)}</p></body></html>");
        var head = Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        try
        {
            await stream.WriteAsync(head, ct).ConfigureAwait(false);
            await stream.WriteAsync(body, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The browser went away; the outcome is reported on the command line anyway.
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
