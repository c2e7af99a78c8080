using System.Data.Common;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The container store over ADO.NET, shared by SQLite and PostgreSQL: both speak the same DML (<c>ON CONFLICT</c>,
/// <c>RETURNING</c>, named parameters), so only opening, the write transaction and the column types differ.
/// </summary>
public abstract class SqlContainerStore : IContainerStore
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private const string SummaryColumns = """
        c.id, c.asset, c.folder, c.name, c.sdi, c.uid_validity, c.uid, c.message_id, c.created_at,
        (SELECT COUNT(*) FROM artifacts a WHERE a.container_id = c.id), c.label, c.raw_sha256, c.raw_vault_id
        """;

    private const string QuarantineColumns = """
        id, asset, folder, uid_validity, uid, internal_date, raw_vault_id, stage, error, parser_version, attempts,
        quarantined_at, resolved_at
        """;

    /// <summary>The widest gap between two UIDs of a batch that one range look-up of committed keys spans.</summary>
    private const long MaxUidGap = 256;

    /// <summary>
    /// The most rows of one container's artifacts or vault files that one INSERT carries; a longer list takes one
    /// statement per chunk. A batch prepares at most this many statements per table, one per row count.
    /// </summary>
    private const int RowsPerInsert = 16;

    private static readonly RowsInsert ArtifactRows = new("artifacts", "name", "cef", "cef_types", "run_automation", "sdi");

    private static readonly RowsInsert VaultFileRows = new("vault_files", "vault_id", "file_name", "size", "sha256", "md5");

    private readonly TimeProvider _time;

    protected SqlContainerStore(TimeProvider? time)
    {
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Opens a connection ready for use.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins the one transaction of a batch. It must keep two commits of the same mailbox from interleaving, so that
    /// the "no key of this UIDVALIDITY points at the container yet" test of reconciliation stays true until commit.
    /// </summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes,
        CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract Task InitializeAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return [];
        }

        var mailboxes = batch.Select(e => e.Email.Container.Source.Mailbox).Distinct().ToList();
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, mailboxes, cancellationToken);
        var now = _time.GetUtcNow();
        var results = new List<CommitResult>(batch.Count);
        await using (var statements = new Statements(connection, transaction))
        {
            var state = new BatchState(batch, await CommittedKeysAsync(statements, batch, cancellationToken));
            foreach (var email in batch)
            {
                results.Add(await CommitOneAsync(statements, state, email, now, cancellationToken));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    private static async Task<CommitResult> CommitOneAsync(Statements s, BatchState state, EmailToCommit item, DateTimeOffset now,
        CancellationToken ct)
    {
        var container = item.Email.Container;
        var source = container.Source;
        var emailKey = EmailKey.Of(source);
        (string, object?)[] key =
        [
            ("asset", emailKey.Asset), ("folder", emailKey.Folder), ("uid_validity", emailKey.UidValidity), ("uid", emailKey.Uid),
        ];

        if (state.Known.TryGetValue(emailKey, out var existing))
        {
            return new CommitResult(source, existing, CommitOutcome.AlreadyIngested);
        }

        // The same bytes under an earlier UIDVALIDITY of this mailbox: the server renumbered, the email is not new.
        // A container already claimed by a key of the current UIDVALIDITY is a different copy of identical bytes.
        var reconcile = await state.MayReconcileAsync(s, emailKey, ct)
            ? await s.ScalarAsync("""
                SELECT c.id FROM containers c
                WHERE c.asset = @asset AND c.folder = @folder AND c.raw_sha256 = @raw_sha256 AND c.uid_validity <> @uid_validity
                  AND NOT EXISTS (SELECT 1 FROM email_keys k WHERE k.container_id = c.id AND k.uid_validity = @uid_validity)
                ORDER BY c.id
                LIMIT 1
                """, ct, [.. key, ("raw_sha256", container.RawSha256)])
            : null;
        if (reconcile is not null)
        {
            var id = Convert.ToInt64(reconcile);
            if (await InsertKeyAsync(s, key, id, ct))
            {
                state.Known[emailKey] = id;
                return new CommitResult(source, id, CommitOutcome.Reconciled);
            }

            if (await FindKeyAsync(s, key, ct) is { } holder)
            {
                state.Known[emailKey] = holder;
                return new CommitResult(source, holder, CommitOutcome.AlreadyIngested);
            }

            return new CommitResult(source, id, CommitOutcome.AlreadyIngested);
        }

        var containerId = Convert.ToInt64(await s.ScalarAsync("""
            INSERT INTO containers (asset, folder, uid_validity, uid, name, sdi, label, message_id, date, internal_date,
                                    raw_sha256, raw_size, raw_vault_id, created_at)
            VALUES (@asset, @folder, @uid_validity, @uid, @name, @sdi, @label, @message_id, @date, @internal_date,
                    @raw_sha256, @raw_size, @raw_vault_id, @created_at)
            RETURNING id
            """, ct, [
                .. key, ("name", container.Name), ("sdi", container.SourceDataIdentifier), ("label", container.Label),
                ("message_id", container.MessageId), ("date", container.Date), ("internal_date", source.InternalDate),
                ("raw_sha256", container.RawSha256), ("raw_size", container.RawSize), ("raw_vault_id", item.RawEmail.Value),
                ("created_at", now),
            ]));

        // A concurrent commit of the same key won the race: drop the container just made and report the winner's.
        if (!await InsertKeyAsync(s, key, containerId, ct))
        {
            await s.ExecuteAsync("DELETE FROM containers WHERE id = @id", ct, ("id", containerId));
            var winner = await FindKeyAsync(s, key, ct)
                ?? throw new InvalidOperationException($"email key of {source.Mailbox} UID {source.Uid} vanished during commit");
            state.Known[emailKey] = winner;
            return new CommitResult(source, winner, CommitOutcome.AlreadyIngested);
        }

        state.Known[emailKey] = containerId;
        await InsertRowsAsync(s, ArtifactRows, containerId, item.Email.Artifacts, static (artifact, row) =>
        {
            row[0] = artifact.Name;
            row[1] = artifact.Cef.ToJsonString(JsonOptions);
            row[2] = artifact.CefTypes?.ToJsonString(JsonOptions);
            row[3] = artifact.RunAutomation;
            row[4] = artifact.SourceDataIdentifier;
        }, ct);
        await InsertRowsAsync(s, VaultFileRows, containerId, item.Email.VaultFiles, static (file, row) =>
        {
            row[0] = file.VaultId.Value;
            row[1] = file.FileName;
            row[2] = file.Size;
            row[3] = file.Sha256;
            row[4] = file.Md5;
        }, ct);

        return new CommitResult(source, containerId, CommitOutcome.Created);
    }

    /// <summary>
    /// Inserts <paramref name="items"/> as the rows of <paramref name="insert"/>'s table for one container, ordinals
    /// counting from 0 in list order, <see cref="RowsPerInsert"/> rows per statement.
    /// </summary>
    private static async Task InsertRowsAsync<T>(Statements s, RowsInsert insert, long containerId, IReadOnlyList<T> items,
        RowValues<T> values, CancellationToken ct)
    {
        for (var first = 0; first < items.Count; first += RowsPerInsert)
        {
            var rows = Math.Min(RowsPerInsert, items.Count - first);
            var parameters = new object?[RowsInsert.SharedParameters + rows * insert.Columns];
            parameters[0] = containerId;
            parameters[1] = first;
            for (var r = 0; r < rows; r++)
            {
                values(items[first + r], parameters.AsSpan(RowsInsert.SharedParameters + r * insert.Columns, insert.Columns));
            }

            await s.ExecuteAsync(insert.Sql(rows), insert.Names(rows), parameters, ct);
        }
    }

    /// <summary>
    /// The keys of the batch's emails that were committed before it, with their containers: one range query per mailbox
    /// and UIDVALIDITY instead of one look-up per email. UIDs further apart than <see cref="MaxUidGap"/> are looked up in
    /// separate ranges, so a batch of scattered UIDs never reads a long run of keys it does not need. The batch holds the
    /// mailbox's write lock; a key that is committed concurrently all the same still meets <c>ON CONFLICT</c> on insert.
    /// </summary>
    private static async Task<Dictionary<EmailKey, long>> CommittedKeysAsync(Statements s, IReadOnlyList<EmailToCommit> batch,
        CancellationToken ct)
    {
        var known = new Dictionary<EmailKey, long>();
        foreach (var mailbox in batch.Select(e => EmailKey.Of(e.Email.Container.Source)).GroupBy(k => (k.Asset, k.Folder, k.UidValidity)))
        {
            var (asset, folder, uidValidity) = mailbox.Key;
            var uids = mailbox.Select(k => k.Uid).Distinct().Order().ToList();
            var wanted = uids.ToHashSet();
            var first = 0;
            for (var i = 1; i <= uids.Count; i++)
            {
                if (i < uids.Count && uids[i] - uids[i - 1] <= MaxUidGap)
                {
                    continue;
                }

                await s.ReadAsync("""
                    SELECT uid, container_id FROM email_keys
                    WHERE asset = @asset AND folder = @folder AND uid_validity = @uid_validity AND uid BETWEEN @from AND @to
                    """, r =>
                    {
                        var uid = r.GetInt64(0);
                        if (wanted.Contains(uid))
                        {
                            known[new EmailKey(asset, folder, uidValidity, uid)] = r.GetInt64(1);
                        }
                    }, ct, ("asset", asset), ("folder", folder), ("uid_validity", uidValidity), ("from", uids[first]),
                    ("to", uids[i - 1]));
                first = i;
            }
        }

        return known;
    }

    private static async Task<long?> FindKeyAsync(Statements s, (string, object?)[] key, CancellationToken ct)
    {
        var found = await s.ScalarAsync("""
            SELECT container_id FROM email_keys
            WHERE asset = @asset AND folder = @folder AND uid_validity = @uid_validity AND uid = @uid
            """, ct, key);
        return found is null ? null : Convert.ToInt64(found);
    }

    private static async Task<bool> InsertKeyAsync(Statements s, (string, object?)[] key, long containerId, CancellationToken ct) =>
        await s.ExecuteAsync("""
            INSERT INTO email_keys (asset, folder, uid_validity, uid, container_id)
            VALUES (@asset, @folder, @uid_validity, @uid, @container_id)
            ON CONFLICT (asset, folder, uid_validity, uid) DO NOTHING
            """, ct, [.. key, ("container_id", containerId)]) == 1;

    /// <inheritdoc />
    public async Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var uids = await ListAsync(connection, """
            SELECT uid FROM email_keys
            WHERE asset = @asset AND folder = @folder AND uid_validity = @uid_validity AND uid BETWEEN @from AND @to
            """, r => checked((uint)r.GetInt64(0)), cancellationToken, ("asset", mailbox.Asset.Value), ("folder", mailbox.Folder.Value),
            ("uid_validity", (long)uidValidity), ("from", (long)from), ("to", (long)to));
        return uids.ToHashSet();
    }

    /// <inheritdoc />
    public async Task<long> QuarantineAsync(EmailSource source, VaultId rawEmail, string stage, string error, string parserVersion,
        int attempts, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var id = await ScalarAsync(connection, null, """
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
            ("raw_vault_id", rawEmail.Value), ("stage", stage), ("error", error), ("parser_version", parserVersion),
            ("attempts", attempts), ("quarantined_at", _time.GetUtcNow()));
        return Convert.ToInt64(id);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var where = includeResolved ? "" : "WHERE resolved_at IS NULL";
        return await ListAsync(connection, $"SELECT {QuarantineColumns} FROM quarantine {where} ORDER BY id", ReadQuarantined,
            cancellationToken);
    }

    /// <inheritdoc />
    public async Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT {QuarantineColumns} FROM quarantine WHERE id = @id", ("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadQuarantined(reader) : null;
    }

    /// <inheritdoc />
    public async Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "UPDATE quarantine SET resolved_at = @now WHERE id = @id AND resolved_at IS NULL",
            cancellationToken, ("now", _time.GetUtcNow()), ("id", id));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var where = asset is null ? "" : "WHERE c.asset = @asset";
        return await ListAsync(connection, $"SELECT {SummaryColumns} FROM containers c {where} ORDER BY c.id", ReadSummary,
            cancellationToken, AssetParameter(asset));
    }

    /// <inheritdoc />
    public async Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        ContainerSummary summary;
        string label, rawSha256;
        VaultId raw;
        await using (var command = Command(connection, null, $"SELECT {SummaryColumns} FROM containers c WHERE c.id = @id", ("id", id)))
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

        var artifacts = await ListAsync(connection, """
            SELECT name, cef, cef_types, run_automation, sdi FROM artifacts WHERE container_id = @id ORDER BY ordinal
            """, r => new Artifact(r.GetString(0), ParseObject(r.GetString(1)), r.IsDBNull(2) ? null : ParseObject(r.GetString(2)),
                r.GetBoolean(3), r.GetString(4)), cancellationToken, ("id", id));

        var files = await ListAsync(connection, """
            SELECT vault_id, file_name, size, sha256, md5 FROM vault_files WHERE container_id = @id ORDER BY ordinal
            """, r => new VaultFile(new VaultId(r.GetString(0)), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4)),
            cancellationToken, ("id", id));

        return new StoredContainer(summary, label, rawSha256, raw, artifacts, files);
    }

    /// <inheritdoc />
    public async Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var where = asset is null ? "" : "WHERE asset = @asset";
        return Convert.ToInt64(await ScalarAsync(connection, null, $"SELECT COUNT(*) FROM containers {where}", cancellationToken,
            AssetParameter(asset)));
    }

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    private static (string, object?)[] AssetParameter(string? asset) => asset is null ? [] : [("asset", asset)];

    private static JsonObject ParseObject(string json) =>
        JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException("stored artifact JSON is not an object");

    private static ContainerSummary ReadSummary(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), checked((uint)r.GetInt64(5)),
        checked((uint)r.GetInt64(6)), r.IsDBNull(7) ? null : r.GetString(7), Convert.ToInt32(r.GetValue(9)),
        r.GetFieldValue<DateTimeOffset>(8));

    private static QuarantinedEmail ReadQuarantined(DbDataReader r) => new(
        r.GetInt64(0),
        new EmailSource(new AssetName(r.GetString(1)), new FolderName(r.GetString(2)), checked((uint)r.GetInt64(4)),
            checked((uint)r.GetInt64(3)), r.IsDBNull(5) ? null : r.GetFieldValue<DateTimeOffset>(5)),
        new VaultId(r.GetString(6)), r.GetString(7), r.GetString(8), r.GetString(9), r.GetInt32(10),
        r.GetFieldValue<DateTimeOffset>(11), r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12));

    /// <summary>Makes a command; instants are written in UTC because PostgreSQL's timestamptz accepts nothing else.</summary>
    protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql,
        params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            // With its prefix, SQLite finds the parameter in one look-up instead of trying each prefix in turn.
            parameter.ParameterName = "@" + name;
            parameter.Value = DbValue(value);
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static object DbValue(object? value) => value switch
    {
        null => DBNull.Value,
        DateTimeOffset t => t.ToUniversalTime(),
        _ => value,
    };

    protected static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Every row of a query, each read by <paramref name="read"/>.</summary>
    private static async Task<List<T>> ListAsync<T>(DbConnection connection, string sql, Func<DbDataReader, T> read,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(read(reader));
        }

        return list;
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql,
        CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        var value = await command.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }

    /// <summary>
    /// The commands of one batch's transaction, each made and prepared once and run again with new values: a batch runs
    /// the same handful of statements for every email and artifact, and parsing them anew each time was a large part of
    /// a commit's cost.
    /// </summary>
    private sealed class Statements(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
    {
        private readonly Dictionary<string, Prepared> _commands = new(StringComparer.Ordinal);

        public Task<int> ExecuteAsync(string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> parameters) =>
            For(sql, parameters).ExecuteNonQueryAsync(ct);

        /// <summary>Runs a statement whose parameters are <paramref name="names"/>, bound to <paramref name="values"/> in order.</summary>
        public Task<int> ExecuteAsync(string sql, string[] names, ReadOnlySpan<object?> values, CancellationToken ct) =>
            For(sql, names, values).ExecuteNonQueryAsync(ct);

        public Task<object?> ScalarAsync(string sql, CancellationToken ct, params ReadOnlySpan<(string, object?)> parameters) =>
            ScalarAsync(For(sql, parameters), ct);

        /// <summary>Runs a query and hands each row to <paramref name="row"/>.</summary>
        public Task ReadAsync(string sql, Action<DbDataReader> row, CancellationToken ct,
            params ReadOnlySpan<(string, object?)> parameters) =>
            ReadAsync(For(sql, parameters), row, ct);

        public async ValueTask DisposeAsync()
        {
            foreach (var prepared in _commands.Values)
            {
                await prepared.Command.DisposeAsync();
            }
        }

        private static async Task<object?> ScalarAsync(DbCommand command, CancellationToken ct)
        {
            var value = await command.ExecuteScalarAsync(ct);
            return value is DBNull ? null : value;
        }

        private static async Task ReadAsync(DbCommand command, Action<DbDataReader> row, CancellationToken ct)
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                row(reader);
            }
        }

        private DbCommand For(string sql, ReadOnlySpan<(string Name, object? Value)> parameters)
        {
            if (!_commands.TryGetValue(sql, out var prepared))
            {
                var names = new string[parameters.Length];
                for (var i = 0; i < names.Length; i++)
                {
                    names[i] = parameters[i].Name;
                }

                prepared = Prepare(sql, names);
            }

            // Every call site passes the same names in the same order for one statement.
            for (var i = 0; i < parameters.Length; i++)
            {
                prepared.Parameters[i].Value = DbValue(parameters[i].Value);
            }

            return prepared.Command;
        }

        private DbCommand For(string sql, string[] names, ReadOnlySpan<object?> values)
        {
            var prepared = _commands.TryGetValue(sql, out var found) ? found : Prepare(sql, names);
            for (var i = 0; i < values.Length; i++)
            {
                prepared.Parameters[i].Value = DbValue(values[i]);
            }

            return prepared.Command;
        }

        private Prepared Prepare(string sql, string[] names)
        {
            var command = Command(connection, transaction, sql, [.. names.Select(name => (name, (object?)null))]);
            var prepared = new Prepared(command, [.. command.Parameters.Cast<DbParameter>()]);
            _commands.Add(sql, prepared);
            return prepared;
        }

        /// <summary>A command and its parameters in the order of their names, so values are bound by position.</summary>
        private sealed record Prepared(DbCommand Command, DbParameter[] Parameters);
    }

    /// <summary>The values of one row's own columns, in the order its <see cref="RowsInsert"/> names them.</summary>
    private delegate void RowValues<in T>(T item, Span<object?> row);

    /// <summary>
    /// The multi-row INSERT of a table whose rows belong to one container in order, keyed by (<c>container_id</c>,
    /// <c>ordinal</c>): one SQL text per row count up to <see cref="RowsPerInsert"/>. The container id and the first
    /// row's ordinal are bound once per statement; each later row's ordinal adds its offset to it, and its own columns
    /// are bound under their names suffixed by the row's index (<c>@name0</c>, <c>@name1</c>, ...).
    /// </summary>
    private sealed class RowsInsert
    {
        /// <summary>The parameters bound before the first row's: <c>@container_id</c> and <c>@ordinal</c>.</summary>
        public const int SharedParameters = 2;

        private readonly string[] _sql;
        private readonly string[][] _names;

        public RowsInsert(string table, params string[] columns)
        {
            Columns = columns.Length;
            _sql = new string[RowsPerInsert];
            _names = new string[RowsPerInsert][];
            for (var rows = 1; rows <= RowsPerInsert; rows++)
            {
                var values = Enumerable.Range(0, rows).Select(r =>
                    $"(@container_id, {(r == 0 ? "@ordinal" : $"@ordinal + {r}")}, {string.Join(", ", columns.Select(c => $"@{c}{r}"))})");
                _sql[rows - 1] = $"INSERT INTO {table} (container_id, ordinal, {string.Join(", ", columns)})\nVALUES {string.Join(",\n       ", values)}";
                _names[rows - 1] = ["container_id", "ordinal", .. Enumerable.Range(0, rows).SelectMany(r => columns.Select(c => $"{c}{r}"))];
            }
        }

        /// <summary>How many columns each row binds besides the shared ones.</summary>
        public int Columns { get; }

        public string Sql(int rows) => _sql[rows - 1];

        /// <summary>The parameter names of <see cref="Sql"/>, shared ones first, then each row's columns in order.</summary>
        public string[] Names(int rows) => _names[rows - 1];
    }

    /// <summary>(asset, folder, UIDVALIDITY, UID) as the columns of <c>email_keys</c> hold it.</summary>
    private readonly record struct EmailKey(string Asset, string Folder, long UidValidity, long Uid)
    {
        public static EmailKey Of(EmailSource source) =>
            new(source.Asset.Value, source.Folder.Value, source.UidValidity, source.Uid);
    }

    /// <summary>What one batch's transaction knows of the keys it commits.</summary>
    private sealed class BatchState(IReadOnlyList<EmailToCommit> batch, Dictionary<EmailKey, long> known)
    {
        private readonly Dictionary<(string Asset, string Folder, long UidValidity), bool> _mayReconcile = [];

        /// <summary>Keys committed before the batch or by it so far, with their containers.</summary>
        public Dictionary<EmailKey, long> Known { get; } = known;

        /// <summary>
        /// Whether the mailbox of <paramref name="key"/> can hold a container of another UIDVALIDITY, without which the
        /// reconcile query finds nothing. Every container is written in the same transaction as a key of its own
        /// UIDVALIDITY (and deleted again if that key loses a race), and keys are never deleted, so such a container has
        /// a key of another UIDVALIDITY: committed before this batch (one probe on the key's primary index per mailbox
        /// and UIDVALIDITY) or written earlier in it (when the batch itself spans several UIDVALIDITYs of the mailbox).
        /// The batch holds the mailbox's write lock, so no other commit changes the answer before this one ends.
        /// </summary>
        public async ValueTask<bool> MayReconcileAsync(Statements s, EmailKey key, CancellationToken ct)
        {
            var mailbox = (key.Asset, key.Folder, key.UidValidity);
            if (_mayReconcile.TryGetValue(mailbox, out var may))
            {
                return may;
            }

            may = batch.Any(e => e.Email.Container.Source is var other && other.Asset.Value == key.Asset
                    && other.Folder.Value == key.Folder && other.UidValidity != key.UidValidity)
                || Convert.ToInt64(await s.ScalarAsync("""
                    SELECT CASE WHEN EXISTS (SELECT 1 FROM email_keys
                                             WHERE asset = @asset AND folder = @folder AND uid_validity < @uid_validity)
                                  OR EXISTS (SELECT 1 FROM email_keys
                                             WHERE asset = @asset AND folder = @folder AND uid_validity > @uid_validity)
                           THEN 1 ELSE 0 END
                    """, ct, ("asset", key.Asset), ("folder", key.Folder), ("uid_validity", key.UidValidity))) == 1;
            _mayReconcile[mailbox] = may;
            return may;
        }
    }
}
