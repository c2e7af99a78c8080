using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>The container queries over ADO.NET, shared by SQLite and PostgreSQL.</summary>
internal sealed class SqlContainerQueries(ISqlConnector database, Func<string, string, string> jsonText) : IContainerQueries
{
    /// <summary>
    /// A container's summary columns with its artifact count. The count is a join grouped by the container's primary
    /// key, which lets PostgreSQL select the container's other columns ungrouped; in id order, both databases walk the
    /// containers and their artifacts' primary key side by side and stop at the page's limit.
    /// </summary>
    private const string SummarySelect = """
        SELECT c.id, c.asset, c.folder, c.name, c.sdi, c.uid_validity, c.uid, c.message_id, c.created_at,
               COUNT(a.container_id), c.label, c.raw_sha256, c.raw_vault_id, c.node
        FROM containers c
        LEFT JOIN artifacts a ON a.container_id = c.id
        """;

    /// <inheritdoc />
    public async Task<ContainerPage> QueryContainersAsync(ContainerQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "a page holds at least one container");
        }

        var conditions = new List<string>();
        var parameters = new List<(string, object?)>();
        void Match(string condition, string name, object? value)
        {
            if (value is not null)
            {
                conditions.Add(condition);
                parameters.Add((name, value));
            }
        }

        Match("c.asset = @asset", "asset", query.Asset);
        Match("c.folder = @folder", "folder", query.Folder);
        Match("c.label = @label", "label", query.Label);
        Match("c.id >= @from_id", "from_id", query.FromId);
        Match("c.id <= @to_id", "to_id", query.ToId);
        Match("c.id > @after_id", "after_id", query.AfterId);
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            // The subject is the container's name; the sender is the Email Artifact's fromEmail.
            Match($"""
                (LOWER(c.name) LIKE @search ESCAPE '\' OR EXISTS (SELECT 1 FROM artifacts s WHERE s.container_id = c.id
                    AND s.name = 'Email Artifact' AND LOWER({jsonText("s.cef", "fromEmail")}) LIKE @search ESCAPE '\'))
                """, "search", "%" + EscapeLike(query.Search.Trim().ToLowerInvariant()) + "%");
        }

        var sql = new StringBuilder(SummarySelect);
        if (conditions.Count > 0)
        {
            sql.Append("\nWHERE ").AppendJoin(" AND ", conditions);
        }

        sql.Append("\nGROUP BY c.id\nORDER BY c.id");
        if (query.Limit is { } limit)
        {
            // One row past the page tells whether another page follows, without a second query.
            sql.Append("\nLIMIT @limit");
            parameters.Add(("limit", (long)limit + 1));
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await SqlCommands.ListAsync(connection, sql.ToString(), ReadSummary, cancellationToken, [.. parameters]);
        if (query.Limit is { } size && rows.Count > size)
        {
            rows.RemoveRange(size, rows.Count - size);
            return new ContainerPage(rows, rows[^1].Id);
        }

        return new ContainerPage(rows, null);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken) =>
        (await QueryContainersAsync(new ContainerQuery { Asset = asset }, cancellationToken)).Containers;

    /// <inheritdoc />
    public async Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        ContainerSummary summary;
        string label, rawSha256;
        VaultId raw;
        await using (var command = SqlCommands.Command(connection, null, $"{SummarySelect}\nWHERE c.id = @id\nGROUP BY c.id", ("id", id)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            summary = ReadSummary(reader);
            label = reader.GetString(10);
            rawSha256 = reader.GetString(11);
            raw = new VaultId(reader.GetString(12));
        }

        var artifacts = await SqlCommands.ListAsync(connection, """
            SELECT name, cef, cef_types, run_automation, sdi FROM artifacts WHERE container_id = @id ORDER BY ordinal
            """, r => new Artifact(r.GetString(0), ParseObject(r.GetString(1)), r.IsDBNull(2) ? null : ParseObject(r.GetString(2)),
                r.GetBoolean(3), r.GetString(4)), cancellationToken, ("id", id));

        var files = await SqlCommands.ListAsync(connection, """
            SELECT vault_id, file_name, size, sha256, md5 FROM vault_files WHERE container_id = @id ORDER BY ordinal
            """, r => new VaultFile(new VaultId(r.GetString(0)), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4)),
            cancellationToken, ("id", id));

        var stored = await SqlCommands.ListAsync(connection, "SELECT content FROM raw_emails WHERE container_id = @id",
            r => r.GetFieldValue<byte[]>(0), cancellationToken, ("id", id));
        return new StoredContainer(summary, label, rawSha256, raw, artifacts, files) { RawBytes = stored.Count == 0 ? null : stored[0] };
    }

    /// <inheritdoc />
    public async Task<VaultFile?> FindVaultFileAsync(VaultId id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var files = await SqlCommands.ListAsync(connection, """
            SELECT vault_id, file_name, size, sha256, md5 FROM vault_files WHERE vault_id = @vault_id
            ORDER BY container_id, ordinal LIMIT 1
            """, r => new VaultFile(new VaultId(r.GetString(0)), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4)),
            cancellationToken, ("vault_id", id.Value));
        return files.Count > 0 ? files[0] : null;
    }

    /// <inheritdoc />
    public async Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var where = asset is null ? "" : "WHERE asset = @asset";
        return Convert.ToInt64(await SqlCommands.ScalarAsync(connection, null, $"SELECT COUNT(*) FROM containers {where}", cancellationToken,
            asset is null ? [] : [("asset", asset)]));
    }

    private static string EscapeLike(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static JsonObject ParseObject(string json) =>
        JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("stored artifact JSON is not an object");

    private static ContainerSummary ReadSummary(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), checked((uint)r.GetInt64(5)),
        checked((uint)r.GetInt64(6)), r.IsDBNull(7) ? null : r.GetString(7), Convert.ToInt32(r.GetValue(9)),
        r.GetFieldValue<DateTimeOffset>(8))
    {
        Node = r.IsDBNull(13) ? null : r.GetString(13),
    };
}
