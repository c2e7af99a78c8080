using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;
using ImapActors.Domain;
using Npgsql;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The store in PostgreSQL, for cluster mode. Commits of different mailboxes run in parallel; commits of one mailbox
/// queue on a transaction-scoped advisory lock (two nodes can briefly own one mailbox during a hand-over). A key
/// inserted by a concurrent transaction resolves through <c>ON CONFLICT DO NOTHING</c> to <c>AlreadyIngested</c>.
/// </summary>
public sealed class PostgresContainerStore : SqlContainerStore
{
    /// <inheritdoc />
    protected override string JsonText(string column, string key) => $"({column}::jsonb ->> '{key}')";

    // Any constant: it only has to differ from other users of advisory locks in the same database.
    private const long SchemaLockKey = 0x494D_4150_5354_4F52; // "IMAPSTOR"

    private readonly NpgsqlDataSource _dataSource;

    public PostgresContainerStore(string connectionString, TimeProvider? time = null)
        : base(time)
    {
        _dataSource = DataSource(connectionString);
    }

    /// <summary>The most statements a connection keeps prepared on the server when the connection string does not say.</summary>
    internal const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// The store's data source: a commit runs the same few statements for every email, so unless the connection string
    /// sets <c>Max Auto Prepare</c> (0 turns it off, as a pooler without prepared statements needs), a statement run
    /// twice on a connection is prepared on the server and not parsed and planned again.
    /// </summary>
    internal static NpgsqlDataSource DataSource(string connectionString)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = DefaultMaxAutoPrepare;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }

        return builder.Build();
    }

    /// <inheritdoc />
    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        // Every node's start and every CLI verb opens the store. While it is up to date no DDL runs at all: CREATE INDEX
        // IF NOT EXISTS and ALTER TABLE ... ADD COLUMN IF NOT EXISTS take their table's lock before they find there is
        // nothing to do, so each would wait for the commits in flight on the other nodes and hold back every commit
        // queued behind it.
        await using var connection = await OpenAsync(cancellationToken);
        if (await IsCurrentAsync(connection, cancellationToken))
        {
            return;
        }

        // CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL (a duplicate pg_type row), so starters queue; a store
        // made by an earlier version is brought up to date in the same transaction.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", SchemaLockKey));
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSql, cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSqlQuarantineRawNullable, cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSqlContainersAddNode, cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSqlLz4Compression, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Values of the containers' identity sequence, which no other session is given.</remarks>
    protected override string ReserveContainerIdsSql =>
        "SELECT nextval(pg_get_serial_sequence('containers', 'id')) FROM generate_series(1, @count)";

    /// <summary>The tables and indexes <see cref="StoreSchema.PostgreSql"/> makes.</summary>
    private static readonly string[] SchemaRelations =
    [
        .. Regex.Matches(StoreSchema.PostgreSql, @"CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)").Select(m => m.Groups[1].Value),
    ];

    /// <summary>
    /// Whether the store has every table and index of the schema and the changes made to stores of earlier versions
    /// (<c>containers.node</c>, a nullable <c>quarantine.raw_vault_id</c>, lz4 for emails and file chunks where the server
    /// has it): catalog reads only, which take no lock.
    /// </summary>
    private static async Task<bool> IsCurrentAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var current = await SqlCommands.ScalarAsync(connection, null, $"""
            SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema() AND c.relname = ANY(@relations)) = @count
               AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                           AND table_name = 'containers' AND column_name = 'node')
               AND EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                           AND table_name = 'quarantine' AND column_name = 'raw_vault_id' AND is_nullable = 'YES')
               AND {StoreSchema.PostgreSqlLz4CompressionCurrent}
            """, cancellationToken, ("relations", SchemaRelations), ("count", (long)SchemaRelations.Length));
        return current is true;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes,
        CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        try
        {
            // Sorted, so two batches spanning the same mailboxes take their locks in the same order and never deadlock.
            foreach (var mailbox in mailboxes.Select(m => $"{m.Asset.Value}\n{m.Folder.Value}").Distinct().Order(StringComparer.Ordinal))
            {
                await SqlCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@mailbox, 0))",
                    cancellationToken, ("mailbox", mailbox));
            }

            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync();
        await base.DisposeAsync();
    }
}
