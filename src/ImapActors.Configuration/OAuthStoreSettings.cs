using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>Where the OAuth tokens of authorization_code assets are kept.</summary>
public enum TokenStoreKind
{
    /// <summary>One encrypted file per asset in <see cref="OAuthStoreSettings.TokenStorePath"/>.</summary>
    File,

    /// <summary>The <c>oauth_tokens</c> table of the storage database, shared by every node on it.</summary>
    Database,
}

/// <summary>The <c>imapactors.oauth</c> section: where OAuth tokens are kept and the key that encrypts them.</summary>
/// <param name="TokenStorePath">The folder of the encrypted token files (absolute); unused by the database store.</param>
/// <param name="Key">The base64 text of the 32-byte key; null when none is configured.</param>
/// <param name="Store">Files or the storage database.</param>
public sealed record OAuthStoreSettings(string TokenStorePath, Secret? Key, TokenStoreKind Store = TokenStoreKind.File);
