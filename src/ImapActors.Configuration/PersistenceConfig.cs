using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Configuration;
using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>Akka settings of the engine: the persistence plugins for the configured store and <c>hocon/akka.conf</c>.</summary>
public static class PersistenceConfig
{
    /// <summary>Provider names of Akka.Persistence.Sql (linq2db's <c>ProviderName</c> constants).</summary>
    public const string SqliteProviderName = "SQLite.MS";

    public const string PostgreSqlProviderName = "PostgreSQL.15";

    private static readonly JsonSerializerOptions Quoting = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly Lazy<Config> AkkaDefaultsLazy = new(() => ConfigurationFactory.ParseString(EngineConfig.ReadResource("akka.conf")));

    /// <summary>The engine's Akka defaults (<c>hocon/akka.conf</c>, embedded).</summary>
    public static Config AkkaDefaults => AkkaDefaultsLazy.Value;

    /// <summary>
    /// The Akka.Persistence.Sql journal, read journal and snapshot store on <paramref name="storage"/>, creating their
    /// tables on first use. The journal shares the database of the container store.
    /// </summary>
    public static Config For(StorageSettings storage)
    {
        var provider = storage.Provider switch
        {
            StorageProvider.Sqlite => SqliteProviderName,
            StorageProvider.PostgreSql => PostgreSqlProviderName,
            _ => throw new ArgumentOutOfRangeException(nameof(storage), storage.Provider, "unknown storage provider"),
        };

        // A JSON string is a valid HOCON quoted string, so the connection string needs no escaping rules of its own.
        var connection = JsonSerializer.Serialize(storage.ConnectionString, Quoting);
        var name = JsonSerializer.Serialize(provider, Quoting);

        // SQLite has one writer for the whole file, which the journal shares with the container store: more than one
        // journal writer would only queue on the file's lock.
        var parallelism = storage.Provider == StorageProvider.Sqlite ? 1 : 3;
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = {{connection}}
                  provider-name = {{name}}
                  auto-initialize = true
                  parallelism = {{parallelism}}
                }
              }
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                connection-string = {{connection}}
                provider-name = {{name}}
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{connection}}
                  provider-name = {{name}}
                  auto-initialize = true
                }
              }
            }
            """);
    }
}
