using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;

namespace ImapActors.Http;

/// <summary>Who called: the configured name of the key presented, and what it may do.</summary>
public sealed record ApiCaller(string Name, ApiScopes Scopes)
{
    public bool May(ApiScopes scope) => (Scopes & scope) == scope;
}

/// <summary>
/// The configured API keys, each kept as the SHA-256 of its text. A presented key is hashed and compared with every
/// configured hash in constant time, so neither a key's content nor which key matched shows in the time an answer takes.
/// Keys are read once, at start: a rotated key file takes effect at the next start.
/// </summary>
public sealed class ApiKeyRing
{
    private readonly (string Name, byte[] Hash, ApiScopes Scopes)[] _keys;

    public ApiKeyRing(IEnumerable<ApiKeySettings> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys.Select(k => (k.Name, Hash(k.Key.Current()), k.Scopes)).ToArray();
    }

    public int Count => _keys.Length;

    /// <summary>The caller whose key is <paramref name="presented"/>, or null for a key no one configured.</summary>
    public ApiCaller? Find(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        var hash = Hash(presented);
        ApiCaller? found = null;
        foreach (var key in _keys)
        {
            // Every key is compared, whichever matches.
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                found ??= new ApiCaller(key.Name, key.Scopes);
            }
        }

        return found;
    }

    /// <summary>The key of an <c>Authorization: Bearer KEY</c> header, or null for any other header or none.</summary>
    public static string? BearerKey(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[scheme.Length..].Trim()
            : null;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
