using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>Everything one read of the configuration file gives, so no command parses the file twice.</summary>
/// <param name="Engine">The engine's settings.</param>
/// <param name="OAuthStore">The <c>imapactors.oauth</c> section: the OAuth token store.</param>
public sealed record LoadedConfiguration(EngineSettings Engine, OAuthStoreSettings OAuthStore);
