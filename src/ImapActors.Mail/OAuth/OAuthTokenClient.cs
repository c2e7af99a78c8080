using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>What a token endpoint returned. <see cref="ToString"/> never shows a token.</summary>
/// <param name="AccessToken">The bearer token for the IMAP login.</param>
/// <param name="ExpiresIn">Its lifetime as the server stated it; null when the server did not say.</param>
/// <param name="RefreshToken">A (possibly rotated) refresh token; null when the server sent none.</param>
public sealed record TokenResponse(string AccessToken, TimeSpan? ExpiresIn, string? RefreshToken)
{
    public override string ToString() =>
        $"TokenResponse {{ AccessToken = ***, ExpiresIn = {ExpiresIn}, RefreshToken = {(RefreshToken is null ? "none" : "***")} }}";
}

/// <summary>
/// The client side of an OAuth 2.0 token endpoint (RFC 6749 section 4): form-encoded POSTs with the client's id and
/// secret in the body, JSON replies. Errors are mapped to <see cref="OAuthGrantRevokedException"/> (<c>invalid_grant</c>),
/// <see cref="OAuthEndpointUnreachableException"/> (network, timeout, 5xx) and <see cref="OAuthException"/> (anything else).
/// </summary>
public sealed class OAuthTokenClient
{
    /// <summary>The default time allowed for one token request.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly OAuthSettings _settings;
    private readonly TimeSpan _timeout;

    /// <param name="http">Shared HTTP client; its own timeout is not relied on.</param>
    /// <param name="settings">The asset's OAuth settings (token URL, client id and secret, scopes).</param>
    /// <param name="timeout">Time allowed for each request; null gives <see cref="DefaultTimeout"/>.</param>
    public OAuthTokenClient(HttpClient http, OAuthSettings settings, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(settings);
        _http = http;
        _settings = settings;
        _timeout = timeout ?? DefaultTimeout;
    }

    /// <summary>Exchanges an authorization code (with its PKCE verifier) for tokens.</summary>
    public Task<TokenResponse> ExchangeCodeAsync(string code, string codeVerifier, string redirectUri, CancellationToken cancellationToken) =>
        PostAsync("authorization_code",
        [
            new("code", code),
            new("code_verifier", codeVerifier),
            new("redirect_uri", redirectUri),
        ], cancellationToken);

    /// <summary>
    /// Obtains a new access token (and perhaps a rotated refresh token) with a refresh token. The configured scopes are
    /// sent again: Microsoft's v2 endpoint asks for them, Google ignores them.
    /// </summary>
    public Task<TokenResponse> RefreshAsync(string refreshToken, CancellationToken cancellationToken) =>
        PostAsync("refresh_token", [new("refresh_token", refreshToken), new("scope", string.Join(' ', _settings.Scopes))], cancellationToken);

    /// <summary>Obtains an app-only access token (client_credentials) for the configured scopes.</summary>
    public Task<TokenResponse> ClientCredentialsAsync(CancellationToken cancellationToken) =>
        PostAsync("client_credentials", [new("scope", string.Join(' ', _settings.Scopes))], cancellationToken);

    private async Task<TokenResponse> PostAsync(string grant, List<KeyValuePair<string, string>> fields, CancellationToken ct)
    {
        fields.Insert(0, new("grant_type", grant));
        fields.Add(new("client_id", _settings.ClientId ?? ""));
        if (_settings.ClientSecret is { } secret)
        {
            fields.Add(new("client_secret", secret.Value));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, _settings.TokenUrl) { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        HttpResponseMessage response;
        string body;
        try
        {
            response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new OAuthEndpointUnreachableException(
                $"the token endpoint {_settings.TokenUrl} did not answer the {grant} request within {_timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            throw new OAuthEndpointUnreachableException($"the token endpoint {_settings.TokenUrl} is unreachable: {e.Message}", e);
        }

        using (response)
        {
            return Parse(grant, response.StatusCode, body);
        }
    }

    private TokenResponse Parse(string grant, HttpStatusCode status, string body)
    {
        JsonElement json = default;
        var isJson = false;
        try
        {
            using var document = JsonDocument.Parse(body);
            json = document.RootElement.Clone();
            isJson = json.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
        }

        var code = (int)status;
        if (isJson && Text(json, "error") is { } error)
        {
            // error_description is the server's prose; it never echoes a token back.
            var description = Text(json, "error_description");
            var what = $"the token endpoint refused the {grant} grant: {error}{(description is null ? "" : $" ({description})")}";
            if (error == "invalid_grant")
            {
                throw new OAuthGrantRevokedException(what);
            }

            if (code >= 500)
            {
                throw new OAuthEndpointUnreachableException(what);
            }

            throw new OAuthException(what);
        }

        if (code >= 500)
        {
            throw new OAuthEndpointUnreachableException($"the token endpoint {_settings.TokenUrl} answered HTTP {code} to the {grant} request");
        }

        if (code >= 300 || !isJson)
        {
            throw new OAuthException($"the token endpoint {_settings.TokenUrl} answered HTTP {code} without a token to the {grant} request");
        }

        var access = Text(json, "access_token");
        if (string.IsNullOrEmpty(access))
        {
            throw new OAuthException($"the token endpoint {_settings.TokenUrl} answered the {grant} request without an access_token");
        }

        TimeSpan? expiresIn = null;
        if (json.TryGetProperty("expires_in", out var e))
        {
            // Some servers send the number as a string.
            if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var seconds)
                || e.ValueKind == JsonValueKind.String && double.TryParse(e.GetString(), System.Globalization.CultureInfo.InvariantCulture, out seconds))
            {
                expiresIn = TimeSpan.FromSeconds(Math.Max(0, seconds));
            }
        }

        var refresh = Text(json, "refresh_token");
        return new TokenResponse(access, expiresIn, string.IsNullOrEmpty(refresh) ? null : refresh);
    }

    private static string? Text(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
