using System.Data.Common;
using ImapActors.Domain;
using Microsoft.Data.Sqlite;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The store in one SQLite file. WAL lets readers run beside the writer; every batch takes the write lock up front
/// (<c>BEGIN IMMEDIATE</c>) so concurrent mailboxes queue behind <c>busy_timeout</c> instead of failing on upgrade.
/// </summary>
public sealed class SqliteContainerStore : SqlContainerStore
{
    /// <inheritdoc />
    protected override string JsonText(string column, string key) => $"json_extract({column}, '$.{key}')";

    private const int BusyTimeoutMs = 30_000;
    private readonly string _connectionString;

    public SqliteContainerStore(string connectionString, TimeProvider? time = null)
        : base(time)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.DefaultTimeout < BusyTimeoutMs / 1000)
        {
            builder.DefaultTimeout = BusyTimeoutMs / 1000;
        }

        _connectionString = builder.ConnectionString;
        var file = builder.DataSource;
        if (!string.IsNullOrEmpty(file) && file != ":memory:" && builder.Mode != SqliteOpenMode.Memory
            && Path.GetDirectoryName(Path.GetFullPath(file)) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }
    }

    /// <inheritdoc />
    /// <remarks>A store made by an earlier version is brought up to date in the same transaction.</remarks>
    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL", cancellationToken);
        await using var transaction = (SqliteTransaction)await BeginWriteAsync(connection, [], cancellationToken);
        await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.Sqlite, cancellationToken);
        if (Convert.ToInt64(await SqlCommands.ScalarAsync(connection, transaction, StoreSchema.SqliteQuarantineRawRequired, cancellationToken),
            System.Globalization.CultureInfo.InvariantCulture) == 1)
        {
            await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.SqliteQuarantineRawNullable, cancellationToken);
        }

        if (Convert.ToInt64(await SqlCommands.ScalarAsync(connection, transaction, StoreSchema.SqliteContainersHaveNode, cancellationToken),
            System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            await SqlCommands.ExecuteAsync(connection, transaction, StoreSchema.SqliteContainersAddNode, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await SqlCommands.ExecuteAsync(connection, null, $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA foreign_keys = ON;", cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes,
        CancellationToken cancellationToken) =>
        // deferred: false is BEGIN IMMEDIATE: one writer at a time for the whole file, which also serialises mailboxes.
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
}
