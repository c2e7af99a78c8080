using ImapActors.Domain;
using ImapActors.Storage.Sql;

namespace ImapActors.Storage;

/// <summary>Makes the container store the settings ask for.</summary>
public static class ContainerStoreFactory
{
    /// <summary>Creates (but does not initialise) the store; call <see cref="IContainerStore.InitializeAsync"/> next.</summary>
    public static IContainerStore Create(StorageSettings settings, TimeProvider? time = null) => settings.Provider switch
    {
        StorageProvider.Sqlite => new SqliteContainerStore(settings.ConnectionString, time),
        StorageProvider.PostgreSql => new PostgresContainerStore(settings.ConnectionString, time),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Provider, "unknown storage provider"),
    };
}
