using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ImapActors.Testing;

/// <summary>
/// An OAuth 2.0 authorization server on 127.0.0.1 for tests: <c>/authorize</c> (answers with a redirect carrying a code
/// for <see cref="AuthorizeAs"/>), <c>/token</c> (authorization_code with a PKCE S256 check, refresh_token with rotation,
/// client_credentials) and <c>/introspect</c> (RFC 7662, for Dovecot's oauth2 passdb). Tokens are random, expire after
/// <see cref="AccessTokenLifetime"/>, and can be revoked per user.
/// </summary>
public sealed class OAuthTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, (string Secret, string? AppUser)> _clients = new();
    private readonly ConcurrentDictionary<string, CodeGrant> _codes = new();
    private readonly ConcurrentDictionary<string, RefreshGrant> _refresh = new();
    private readonly ConcurrentDictionary<string, AccessGrant> _access = new();
    private int _tokenRequests;
    private int _refreshes;
    private int _introspections;
    private int _rejectedIntrospections;

    public OAuthTestServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public string AuthUrl => BaseUrl + "/authorize";

    public string TokenUrl => BaseUrl + "/token";

    public string IntrospectionUrl => BaseUrl + "/introspect";

    /// <summary>Lifetime (<c>expires_in</c>) of new access tokens.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Whether a refresh returns a new refresh token and retires the old one (Microsoft does).</summary>
    public bool RotateRefreshTokens { get; set; } = true;

    /// <summary>The user <c>/authorize</c> signs in.</summary>
    public string? AuthorizeAs { get; set; }

    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    public int Refreshes => Volatile.Read(ref _refreshes);

    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Introspections that answered <c>active: false</c> (an expired, revoked or unknown token reached the server).</summary>
    public int RejectedIntrospections => Volatile.Read(ref _rejectedIntrospections);

    /// <summary>Every refresh token ever issued, for checking that none is written in plain text.</summary>
    public IReadOnlyCollection<string> IssuedRefreshTokens => _refresh.Keys.ToList();

    /// <summary>Every access token ever issued.</summary>
    public IReadOnlyCollection<string> IssuedAccessTokens => _access.Keys.ToList();

    /// <summary>Registers a client; with <paramref name="appUser"/>, its client_credentials tokens act as that user.</summary>
    public void AddClient(string clientId, string secret, string? appUser = null) => _clients[clientId] = (secret, appUser);

    /// <summary>Issues a grant as if <paramref name="user"/> had signed in: returns its access and refresh tokens.</summary>
    public (string AccessToken, string RefreshToken) IssueGrant(string clientId, string user)
    {
        var refresh = NewToken("rt");
        _refresh[refresh] = new RefreshGrant(clientId, user);
        return (NewAccess(clientId, user), refresh);
    }

    /// <summary>Revokes every refresh and access token of <paramref name="user"/>.</summary>
    public void RevokeUser(string user)
    {
        foreach (var (token, grant) in _refresh)
        {
            if (grant.User == user)
            {
                _refresh.TryRemove(token, out _);
            }
        }

        foreach (var (token, grant) in _access)
        {
            if (grant.User == user)
            {
                _access.TryRemove(token, out _);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var (method, target, body) = await ReadRequestAsync(stream);
                var path = target.Split('?', 2)[0];
                var query = target.Contains('?', StringComparison.Ordinal) ? ParseForm(target.Split('?', 2)[1]) : [];
                var form = ParseForm(body);
                var (status, headers, content) = (method, path) switch
                {
                    ("GET", "/authorize") => Authorize(query),
                    ("POST", "/token") => Token(form),
                    ("POST", "/introspect") => Introspect(form),
                    _ => (404, "", "{}"),
                };
                var bytes = Encoding.UTF8.GetBytes(content);
                var head = $"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n{headers}\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.WriteAsync(bytes);
            }
            catch (Exception e) when (e is IOException or SocketException or FormatException)
            {
            }
        }
    }

    private (int, string, string) Authorize(Dictionary<string, string> q)
    {
        if (AuthorizeAs is null || !_clients.ContainsKey(q.GetValueOrDefault("client_id", "")) || q.GetValueOrDefault("response_type") != "code"
            || q.GetValueOrDefault("code_challenge_method") != "S256" || !q.TryGetValue("code_challenge", out var challenge)
            || !q.TryGetValue("redirect_uri", out var redirect))
        {
            return (400, "", """{"error":"invalid_request"}""");
        }

        var code = NewToken("code");
        _codes[code] = new CodeGrant(q["client_id"], AuthorizeAs, redirect, challenge, q.GetValueOrDefault("scope", ""));
        var location = $"{redirect}?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(q.GetValueOrDefault("state", ""))}";
        return (302, $"Location: {location}\r\n", "{}");
    }

    private (int, string, string) Token(Dictionary<string, string> f)
    {
        Interlocked.Increment(ref _tokenRequests);
        var clientId = f.GetValueOrDefault("client_id", "");
        if (!_clients.TryGetValue(clientId, out var client) || client.Secret != f.GetValueOrDefault("client_secret"))
        {
            return Error(401, "invalid_client");
        }

        switch (f.GetValueOrDefault("grant_type"))
        {
            case "authorization_code":
            {
                if (!_codes.TryRemove(f.GetValueOrDefault("code", ""), out var grant) || grant.ClientId != clientId
                    || grant.RedirectUri != f.GetValueOrDefault("redirect_uri"))
                {
                    return Error(400, "invalid_grant");
                }

                var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(f.GetValueOrDefault("code_verifier", ""))))
                    .TrimEnd('=').Replace('+', '-').Replace('/', '_');
                if (challenge != grant.Challenge)
                {
                    return Error(400, "invalid_grant", "PKCE verification failed");
                }

                var refresh = NewToken("rt");
                _refresh[refresh] = new RefreshGrant(clientId, grant.User);
                return Tokens(NewAccess(clientId, grant.User), refresh);
            }

            case "refresh_token":
            {
                var old = f.GetValueOrDefault("refresh_token", "");
                if (!_refresh.TryGetValue(old, out var grant) || grant.ClientId != clientId)
                {
                    return Error(400, "invalid_grant", "Token has been expired or revoked.");
                }

                Interlocked.Increment(ref _refreshes);
                string? rotated = null;
                if (RotateRefreshTokens)
                {
                    rotated = NewToken("rt");
                    _refresh[rotated] = grant;
                    _refresh.TryRemove(old, out _);
                }

                return Tokens(NewAccess(clientId, grant.User), rotated);
            }

            case "client_credentials":
                return client.AppUser is null
                    ? Error(400, "unauthorized_client")
                    : string.IsNullOrEmpty(f.GetValueOrDefault("scope"))
                        ? Error(400, "invalid_scope")
                        : Tokens(NewAccess(clientId, client.AppUser), null);

            default:
                return Error(400, "unsupported_grant_type");
        }
    }

    private (int, string, string) Introspect(Dictionary<string, string> f)
    {
        Interlocked.Increment(ref _introspections);
        if (_access.TryGetValue(f.GetValueOrDefault("token", ""), out var grant) && DateTimeOffset.UtcNow < grant.Expires)
        {
            return (200, "", JsonSerializer.Serialize(new Dictionary<string, object> { ["active"] = true, ["username"] = grant.User, ["client_id"] = grant.ClientId }));
        }

        Interlocked.Increment(ref _rejectedIntrospections);
        return (200, "", """{"active":false}""");
    }

    private (int, string, string) Tokens(string access, string? refresh)
    {
        var body = new Dictionary<string, object>
        {
            ["access_token"] = access,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Math.Ceiling(AccessTokenLifetime.TotalSeconds),
        };
        if (refresh is not null)
        {
            body["refresh_token"] = refresh;
        }

        return (200, "", JsonSerializer.Serialize(body));
    }

    private static (int, string, string) Error(int status, string error, string? description = null) =>
        (status, "", JsonSerializer.Serialize(description is null
            ? new Dictionary<string, string> { ["error"] = error }
            : new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }));

    private string NewAccess(string clientId, string user)
    {
        var token = NewToken("at");
        _access[token] = new AccessGrant(clientId, user, DateTimeOffset.UtcNow + AccessTokenLifetime);
        return token;
    }

    private static string NewToken(string kind) => $"{kind}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";

    private static async Task<(string Method, string Target, string Body)> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray())) < 0)
        {
            var n = await stream.ReadAsync(one);
            if (n == 0)
            {
                throw new IOException("connection closed before the request ended");
            }

            buffer.AddRange(one.AsSpan(0, n).ToArray());
        }

        var head = Encoding.ASCII.GetString(buffer.GetRange(0, headerEnd).ToArray());
        var lines = head.Split("\r\n");
        var first = lines[0].Split(' ');
        var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault();
        while (buffer.Count < headerEnd + 4 + length)
        {
            var n = await stream.ReadAsync(one);
            if (n == 0)
            {
                break;
            }

            buffer.AddRange(one.AsSpan(0, n).ToArray());
        }

        var body = Encoding.UTF8.GetString(buffer.Skip(headerEnd + 4).Take(length).ToArray());
        return (first[0], first.Length > 1 ? first[1] : "/", body);
    }

    private static int IndexOf(List<byte> data, byte[] pattern)
    {
        for (var i = 0; i + pattern.Length <= data.Count; i++)
        {
            var match = true;
            for (var j = 0; j < pattern.Length && match; j++)
            {
                match = data[i + j] == pattern[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    private static Dictionary<string, string> ParseForm(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            result[Uri.UnescapeDataString(parts[0].Replace('+', ' '))] = parts.Length > 1 ? Uri.UnescapeDataString(parts[1].Replace('+', ' ')) : "";
        }

        return result;
    }

    private sealed record CodeGrant(string ClientId, string User, string RedirectUri, string Challenge, string Scope);

    private sealed record RefreshGrant(string ClientId, string User);

    private sealed record AccessGrant(string ClientId, string User, DateTimeOffset Expires);
}
