using ImapActors.Domain;

namespace ImapActors.Storage;

/// <summary>Makes the vault the settings ask for.</summary>
public static class VaultFactory
{
    /// <summary>
    /// A <see cref="FileVault"/> over <see cref="EngineSettings.VaultPath"/>, or a <see cref="DatabaseVault"/> in the store
    /// of <see cref="EngineSettings.Storage"/> (initialize the store before using it). A caller disposes the result when it
    /// is <see cref="IDisposable"/>.
    /// </summary>
    public static IVault Create(EngineSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Vault.Store switch
        {
            VaultStore.File => new FileVault(settings.VaultPath),
            VaultStore.Database => DatabaseVault.Create(settings.Storage),
            _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Vault.Store, "unknown vault store"),
        };
    }
}
