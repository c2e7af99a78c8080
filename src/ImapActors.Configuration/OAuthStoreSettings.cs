using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>The <c>imapactors.oauth</c> section: where OAuth tokens are kept and the key that encrypts them.</summary>
/// <param name="TokenStorePath">The folder of the encrypted token files (absolute).</param>
/// <param name="Key">The base64 text of the 32-byte key; null when none is configured.</param>
public sealed record OAuthStoreSettings(string TokenStorePath, Secret? Key);
