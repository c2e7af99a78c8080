using System.Data.Common;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>The quarantine over ADO.NET, shared by SQLite and PostgreSQL.</summary>
internal sealed class SqlQuarantineStore(ISqlConnector database, TimeProvider time) : IQuarantineStore
{
    private const string QuarantineColumns = StoreSchema.QuarantineColumns;

    /// <inheritdoc />
    public async Task<long> QuarantineAsync(EmailSource source, VaultId? rawEmail, string stage, string error, string parserVersion,
        int attempts, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var id = await SqlCommands.ScalarAsync(connection, null, """
            INSERT INTO quarantine (asset, folder, uid_validity, uid, internal_date, raw_vault_id, stage, error, parser_version,
                                    attempts, quarantined_at, resolved_at)
            VALUES (@asset, @folder, @uid_validity, @uid, @internal_date, @raw_vault_id, @stage, @error, @parser_version,
                    @attempts, @quarantined_at, NULL)
            ON CONFLICT (asset, folder, uid_validity, uid) DO UPDATE SET
                internal_date = excluded.internal_date, raw_vault_id = excluded.raw_vault_id, stage = excluded.stage,
                error = excluded.error, parser_version = excluded.parser_version, attempts = excluded.attempts,
                quarantined_at = excluded.quarantined_at, resolved_at = NULL
            RETURNING id
            """, cancellationToken, ("asset", source.Asset.Value), ("folder", source.Folder.Value),
            ("uid_validity", (long)source.UidValidity), ("uid", (long)source.Uid), ("internal_date", source.InternalDate),
            ("raw_vault_id", rawEmail?.Value), ("stage", stage), ("error", error), ("parser_version", parserVersion),
            ("attempts", attempts), ("quarantined_at", time.GetUtcNow()));
        return Convert.ToInt64(id);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var where = includeResolved ? "" : "WHERE resolved_at IS NULL";
        return await SqlCommands.ListAsync(connection, $"SELECT {QuarantineColumns} FROM quarantine {where} ORDER BY id", ReadQuarantined,
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = SqlCommands.Command(connection, null, $"SELECT {QuarantineColumns} FROM quarantine WHERE id = @id", ("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadQuarantined(reader) : null;
    }

    /// <inheritdoc />
    public async Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, null, "UPDATE quarantine SET resolved_at = @now WHERE id = @id AND resolved_at IS NULL",
            cancellationToken, ("now", time.GetUtcNow()), ("id", id));
    }

    private static QuarantinedEmail ReadQuarantined(DbDataReader r) => new(
        r.GetInt64(0),
        new EmailSource(new AssetName(r.GetString(1)), new FolderName(r.GetString(2)), checked((uint)r.GetInt64(4)),
            checked((uint)r.GetInt64(3)), r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5)),
        r.IsDBNull(6) ? null : new VaultId(r.GetString(6)), r.GetString(7), r.GetString(8), r.GetString(9), r.GetInt32(10),
        r.GetFieldValue<DateTimeOffset>(11), r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12));
}
