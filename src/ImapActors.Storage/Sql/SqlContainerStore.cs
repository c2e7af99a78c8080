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
        for (var i = 0; i < item.Email.Artifacts.Count; i++)
        {
            var artifact = item.Email.Artifacts[i];
            await s.ExecuteAsync("""
                INSERT INTO artifacts (container_id, ordinal, name, cef, cef_types, run_automation, sdi)
                VALUES (@container_id, @ordinal, @name, @cef, @cef_types, @run_automation, @sdi)
                """, ct, ("container_id", containerId), ("ordinal", i), ("name", artifact.Name),
                ("cef", artifact.Cef.ToJsonString(JsonOptions)), ("cef_types", artifact.CefTypes?.ToJsonString(JsonOptions)),
                ("run_automation", artifact.RunAutomation), ("sdi", artifact.SourceDataIdentifier));
        }

        for (var i = 0; i < item.Email.VaultFiles.Count; i++)
        {
            var file = item.Email.VaultFiles[i];
            await s.ExecuteAsync("""
                INSERT INTO vault_files (container_id, ordinal, vault_id, file_name, size, sha256, md5)
                VALUES (@container_id, @ordinal, @vault_id, @file_name, @size, @sha256, @md5)
                """, ct, ("container_id", containerId), ("ordinal", i), ("vault_id", file.VaultId.Value),
                ("file_name", file.FileName), ("size", file.Size), ("sha256", file.Sha256), ("md5", file.Md5));
        }

        return new CommitResult(source, containerId, CommitOutcome.Created);
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
        private readonly Dictionary<string, DbCommand> _commands = new(StringComparer.Ordinal);

        public async Task<int> ExecuteAsync(string sql, CancellationToken ct, params (string, object?)[] parameters) =>
            await For(sql, parameters).ExecuteNonQueryAsync(ct);

        public async Task<object?> ScalarAsync(string sql, CancellationToken ct, params (string, object?)[] parameters)
        {
            var value = await For(sql, parameters).ExecuteScalarAsync(ct);
            return value is DBNull ? null : value;
        }

        /// <summary>Runs a query and hands each row to <paramref name="row"/>.</summary>
        public async Task ReadAsync(string sql, Action<DbDataReader> row, CancellationToken ct, params (string, object?)[] parameters)
        {
            await using var reader = await For(sql, parameters).ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                row(reader);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var command in _commands.Values)
            {
                await command.DisposeAsync();
            }
        }

        private DbCommand For(string sql, (string Name, object? Value)[] parameters)
        {
            if (!_commands.TryGetValue(sql, out var command))
            {
                command = Command(connection, transaction, sql, parameters);
                _commands.Add(sql, command);
                return command;
            }

            // Every call site passes the same names in the same order for one statement.
            for (var i = 0; i < parameters.Length; i++)
            {
                command.Parameters[i].Value = DbValue(parameters[i].Value);
            }

            return command;
        }
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
