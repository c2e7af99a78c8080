using System.Data;
using System.Data.Common;
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
        // CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL (a duplicate pg_type row), so starters queue; a store
        // made by an earlier version is brought up to date in the same transaction.
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", SchemaLockKey));
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSql, cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSqlQuarantineRawNullable, cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.PostgreSqlContainersAddNode, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The session's last value of the containers' identity sequence: unaffected by other sessions.</remarks>
    protected override string LastContainerIdSql => "currval(pg_get_serial_sequence('containers', 'id'))";

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
