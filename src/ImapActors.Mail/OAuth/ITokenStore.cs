using ImapActors.Domain;

namespace ImapActors.Mail.OAuth;

/// <summary>
/// Where the OAuth tokens of each asset are kept, encrypted: a folder of files (<see cref="TokenStore"/>) for one node,
/// the store's database for a cluster. The lock of <see cref="UpdateAsync"/> is what keeps two refreshers of one asset
/// apart: Microsoft rotates refresh tokens, and the second of two refreshes made with the same one would lose the grant.
/// </summary>
public interface ITokenStore
{
    /// <summary>Where the tokens of <paramref name="asset"/> are kept, for messages.</summary>
    string Describe(AssetName asset);

    /// <summary>Reads the tokens of <paramref name="asset"/>; null when none are stored.</summary>
    /// <exception cref="OAuthException">They cannot be read or decrypted (wrong key, damaged data).</exception>
    StoredTokens? Load(AssetName asset);

    /// <summary>Encrypts and stores the tokens of <paramref name="asset"/>, replacing what was stored.</summary>
    /// <exception cref="OAuthException">They cannot be written.</exception>
    void Save(AssetName asset, StoredTokens tokens);

    /// <summary>
    /// Holds the lock of <paramref name="asset"/> (across every process sharing the store), reads its tokens, calls
    /// <paramref name="update"/> with them and stores what it returns (nothing when it returns null), then releases the
    /// lock. Another caller for the same asset waits meanwhile, and then reads what this one stored.
    /// </summary>
    /// <exception cref="OAuthException">The tokens cannot be read or written.</exception>
    Task UpdateAsync(AssetName asset, Func<StoredTokens?, CancellationToken, Task<StoredTokens?>> update, CancellationToken cancellationToken);
}
