using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace ImapActors.Http.Console;

/// <summary>A signed-in console user: the API key's caller, the form token of its POSTs, and a message for its next page.</summary>
public sealed class ConsoleSession(string id, ApiCaller caller, string formToken, DateTimeOffset expires)
{
    public string Id { get; } = id;

    public ApiCaller Caller { get; } = caller;

    /// <summary>Every form of the session carries it; a POST without it is refused (anti-forgery).</summary>
    public string FormToken { get; } = formToken;

    public DateTimeOffset Expires { get; } = expires;

    /// <summary>A message the next page shows once (the outcome of a retry).</summary>
    public string? Notice { get; set; }

    /// <summary>Whether <paramref name="presented"/> is this session's form token, compared in constant time.</summary>
    public bool IsFormToken(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(FormToken));
}

/// <summary>
/// The console's sessions, in this process's memory: a restart signs everyone out. A session lasts eight hours from
/// sign-in; its id is 256 random bits, sent only in an HttpOnly, SameSite=Strict cookie.
/// </summary>
public sealed class ConsoleSessions(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(8);

    private readonly ConcurrentDictionary<string, ConsoleSession> _sessions = new(StringComparer.Ordinal);

    public ConsoleSession Open(ApiCaller caller)
    {
        var now = time.GetUtcNow();
        foreach (var expired in _sessions.Values.Where(s => s.Expires <= now))
        {
            _sessions.TryRemove(expired.Id, out _);
        }

        var session = new ConsoleSession(NewToken(), caller, NewToken(), now + Lifetime);
        _sessions[session.Id] = session;
        return session;
    }

    public ConsoleSession? Find(string? id)
    {
        if (id is null || !_sessions.TryGetValue(id, out var session))
        {
            return null;
        }

        if (session.Expires > time.GetUtcNow())
        {
            return session;
        }

        _sessions.TryRemove(id, out _);
        return null;
    }

    public void Close(string id) => _sessions.TryRemove(id, out _);

    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
