using System.Data.Common;
using System.Text.Encodings.Web;
using System.Text.Json;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The committer over ADO.NET, shared by SQLite and PostgreSQL: one transaction per batch, the batch's committed keys
/// read up front by range, its statements prepared once, a container's rows inserted <see cref="RowsInsert.RowsPerInsert"/>
/// at a time. Where the database is a round trip away (<see cref="ISqlConnector.ReserveContainerIdsSql"/>), the batch's
/// new emails take two round trips in all: one reserves their container ids, one sends a multi-row INSERT per table.
/// </summary>
internal sealed class SqlContainerCommitter(ISqlConnector database, TimeProvider time) : IContainerCommitter
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The widest gap between two UIDs of a batch that one range look-up of committed keys spans.</summary>
    private const long MaxUidGap = 256;

    private static readonly RowsInsert ArtifactRows = new("artifacts", "name", "cef", "cef_types", "run_automation", "sdi");

    private static readonly RowsInsert VaultFileRows = new("vault_files", "vault_id", "file_name", "size", "sha256", "md5");

    /// <inheritdoc />
    public async Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return [];
        }

        var mailboxes = batch.Select(e => e.Email.Container.Source.Mailbox).Distinct().ToList();
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, mailboxes, cancellationToken);
        var now = time.GetUtcNow();
        var results = new CommitResult[batch.Count];
        await using (var statements = new Statements(connection, transaction))
        {
            var state = new BatchState(batch, await CommittedKeysAsync(statements, batch, cancellationToken));
            if (database.ReserveContainerIdsSql is { } reserveIds && connection.CanCreateBatch)
            {
                await CommitBatchedAsync(statements, connection, transaction, reserveIds, state, batch, now, results, cancellationToken);
            }
            else
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    results[i] = await CommitOneAsync(statements, state, batch[i], now, cancellationToken);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    /// <summary>The columns of a container row that <see cref="ContainerParameters"/> gives, in its order.</summary>
    private const string ContainerColumns = """
        asset, folder, uid_validity, uid, name, sdi, label, message_id, date, internal_date,
                                raw_sha256, raw_size, raw_vault_id, created_at, node
        """;

    private const string InsertContainerSql = $"""
        INSERT INTO containers ({ContainerColumns})
        VALUES (@asset, @folder, @uid_validity, @uid, @name, @sdi, @label, @message_id, @date, @internal_date,
                @raw_sha256, @raw_size, @raw_vault_id, @created_at, @node)
        RETURNING id
        """;

    private const string InsertKeySql = """
        INSERT INTO email_keys (asset, folder, uid_validity, uid, container_id)
        VALUES (@asset, @folder, @uid_validity, @uid, @container_id)
        ON CONFLICT (asset, folder, uid_validity, uid) DO NOTHING
        """;

    private const string InsertRawSql = "INSERT INTO raw_emails (container_id, content) VALUES (@container_id, @content)";

    private const string InsertDeliverySql = """
        INSERT INTO deliveries (container_id, destination, state, attempts, next_attempt_at, created_at)
        VALUES (@container_id, @destination, 'pending', 0, @created_at, @created_at)
        """;

    /// <summary>
    /// The batch's emails in order, as <see cref="CommitOneAsync"/> commits them, but the inserts of consecutive new
    /// emails sent together (<see cref="SendAsync"/>): their container ids reserved by <paramref name="reserveIds"/>, and
    /// the key insert reporting which keys it wrote. An email that may reconcile
    /// to an earlier UIDVALIDITY, or repeats a key still on its way, first sends what is pending and then takes the
    /// statement-by-statement path, so every look-up sees the rows before it.
    /// </summary>
    private static async Task CommitBatchedAsync(Statements s, DbConnection connection, DbTransaction transaction, string reserveIds,
        BatchState state, IReadOnlyList<EmailToCommit> batch, DateTimeOffset now, CommitResult[] results, CancellationToken ct)
    {
        var pending = new List<int>();
        var pendingKeys = new HashSet<EmailKey>();
        for (var i = 0; i < batch.Count; i++)
        {
            var emailKey = EmailKey.Of(batch[i].Email.Container.Source);
            if (pendingKeys.Contains(emailKey))
            {
                await SendAsync(s, connection, transaction, reserveIds, state, batch, pending, now, results, ct);
                pendingKeys.Clear();
            }

            if (!state.Known.ContainsKey(emailKey) && !await state.MayReconcileAsync(s, emailKey, ct))
            {
                pending.Add(i);
                pendingKeys.Add(emailKey);
                continue;
            }

            await SendAsync(s, connection, transaction, reserveIds, state, batch, pending, now, results, ct);
            pendingKeys.Clear();
            results[i] = await CommitOneAsync(s, state, batch[i], now, ct);
        }

        await SendAsync(s, connection, transaction, reserveIds, state, batch, pending, now, results, ct);
    }

    /// <summary>
    /// Inserts the <paramref name="pending"/> emails (none of them known, none to reconcile) in two round trips: their
    /// container ids are reserved first (<paramref name="reserveIds"/>), then every table's rows of all of them go in one
    /// multi-row INSERT per table, sent together. The key insert returns the containers whose key it wrote.
    /// </summary>
    private static async Task SendAsync(Statements s, DbConnection connection, DbTransaction transaction, string reserveIds,
        BatchState state, IReadOnlyList<EmailToCommit> batch, List<int> pending, DateTimeOffset now, CommitResult[] results,
        CancellationToken ct)
    {
        if (pending.Count == 0)
        {
            return;
        }

        var ids = await ReserveIdsAsync(s, reserveIds, pending.Count, ct);
        var items = pending.Select(i => batch[i]).ToList();
        await using var inserts = connection.CreateBatch();
        inserts.Transaction = transaction;
        var keys = items.Select(item => EmailKey.Of(item.Email.Container.Source).Parameters()).ToList();
        AddValues(inserts, ContainerValues, items.Count, (r, row) =>
        {
            row[0] = ids[r];
            var parameters = ContainerParameters(keys[r], items[r], now);
            for (var i = 0; i < parameters.Length; i++)
            {
                row[1 + i] = parameters[i].Item2;
            }
        });
        AddValues(inserts, KeyValues, items.Count, (r, row) =>
        {
            for (var i = 0; i < keys[r].Length; i++)
            {
                row[i] = keys[r][i].Item2;
            }

            row[keys[r].Length] = ids[r];
        });
        AddChildValues(inserts, ArtifactValuesInsert, ids, items, item => item.Email.Artifacts, ArtifactValues);
        AddChildValues(inserts, VaultFileValuesInsert, ids, items, item => item.Email.VaultFiles, VaultFileValues);
        AddChildValues<byte[]>(inserts, RawValues, ids, items, item => item.RawBytes is { } bytes ? [bytes] : [],
            static (bytes, row) => row[0] = bytes, ordinal: false);
        AddChildValues<string>(inserts, DeliveryValues, ids, items, item => item.Destinations, (destination, row) =>
        {
            row[0] = destination;
            row[1] = now;
            row[2] = now;
        }, ordinal: false);

        // Only the key inserts return rows: the container of each key they wrote.
        var won = new HashSet<long>();
        await using (var reader = await inserts.ExecuteReaderAsync(ct))
        {
            do
            {
                while (await reader.ReadAsync(ct))
                {
                    won.Add(reader.GetInt64(0));
                }
            }
            while (await reader.NextResultAsync(ct));
        }

        for (var p = 0; p < pending.Count; p++)
        {
            var source = batch[pending[p]].Email.Container.Source;
            var emailKey = EmailKey.Of(source);
            if (won.Contains(ids[p]))
            {
                state.Known[emailKey] = ids[p];
                results[pending[p]] = new CommitResult(source, ids[p], CommitOutcome.Created);
                continue;
            }

            // A concurrent commit of the same key won the race: drop what was just written for it, report the winner's.
            foreach (var table in ContainerRowTables)
            {
                await s.ExecuteAsync($"DELETE FROM {table} WHERE container_id = @id", ct, ("id", ids[p]));
            }

            await s.ExecuteAsync("DELETE FROM containers WHERE id = @id", ct, ("id", ids[p]));
            var key = emailKey.Parameters();
            var winner = await FindKeyAsync(s, key, ct)
                ?? throw new InvalidOperationException($"email key of {source.Mailbox} UID {source.Uid} vanished during commit");
            state.Known[emailKey] = winner;
            results[pending[p]] = new CommitResult(source, winner, CommitOutcome.AlreadyIngested);
        }

        pending.Clear();
    }

    /// <summary><paramref name="count"/> new container ids, in ascending order, so containers keep the order of the batch.</summary>
    private static async Task<long[]> ReserveIdsAsync(Statements s, string sql, int count, CancellationToken ct)
    {
        var ids = new List<long>(count);
        await s.ReadAsync(sql, r => ids.Add(r.GetInt64(0)), ct, ("count", count));
        if (ids.Count != count)
        {
            throw new InvalidOperationException($"the database reserved {ids.Count} container ids for {count} emails");
        }

        ids.Sort();
        return [.. ids];
    }

    /// <summary>
    /// A multi-row INSERT of one table: its head up to VALUES, one row's values (null for a bound one, else SQL written
    /// as is), and what follows the rows.
    /// </summary>
    private sealed class ValuesInsert(string head, string?[] row, string tail = "")
    {
        public string Head { get; } = head;

        public string?[] Row { get; } = row;

        public string Tail { get; } = tail;

        /// <summary>How many values of a row are bound.</summary>
        public int Bound { get; } = row.Count(v => v is null);

        public static ValuesInsert AllBound(string head, int columns, string tail = "") => new(head, new string?[columns], tail);

        /// <summary>The rows of <paramref name="insert"/>'s table for many containers: each row binds its container id and ordinal too.</summary>
        public static ValuesInsert Of(RowsInsert insert) => AllBound(
            $"INSERT INTO {insert.Table} (container_id, ordinal, {string.Join(", ", insert.ColumnNames)})", RowsInsert.SharedParameters + insert.Columns);
    }

    /// <summary>The most parameters one statement binds (the protocol allows 65,535); more rows take more statements.</summary>
    private const int MaxParametersPerStatement = 30_000;

    private static readonly ValuesInsert ContainerValues = ValuesInsert.AllBound(
        $"INSERT INTO containers (id, {ContainerColumns})", 1 + ContainerColumns.Split(',').Length);

    private static readonly ValuesInsert KeyValues = ValuesInsert.AllBound(
        "INSERT INTO email_keys (asset, folder, uid_validity, uid, container_id)", 5,
        "ON CONFLICT (asset, folder, uid_validity, uid) DO NOTHING RETURNING container_id");

    private static readonly ValuesInsert ArtifactValuesInsert = ValuesInsert.Of(ArtifactRows);

    private static readonly ValuesInsert VaultFileValuesInsert = ValuesInsert.Of(VaultFileRows);

    private static readonly ValuesInsert RawValues = ValuesInsert.AllBound("INSERT INTO raw_emails (container_id, content)", 2);

    private static readonly ValuesInsert DeliveryValues = new(
        "INSERT INTO deliveries (container_id, destination, state, attempts, next_attempt_at, created_at)",
        [null, null, "'pending'", "0", null, null]);

    /// <summary>
    /// Adds <paramref name="rows"/> rows of <paramref name="insert"/> to <paramref name="batch"/>, each row's bound values
    /// filled by <paramref name="fill"/> and bound by position (<c>$1</c>, <c>$2</c>, ...), so the driver sends the SQL
    /// as it is, without looking for parameter names in it.
    /// </summary>
    private static void AddValues(DbBatch batch, ValuesInsert insert, int rows, Action<int, Span<object?>> fill)
    {
        var perStatement = Math.Max(1, MaxParametersPerStatement / insert.Bound);
        var values = new object?[insert.Bound];
        for (var first = 0; first < rows; first += perStatement)
        {
            var count = Math.Min(perStatement, rows - first);
            var command = batch.CreateBatchCommand();
            var sql = new System.Text.StringBuilder(insert.Head.Length + insert.Tail.Length + count * insert.Row.Length * 7);
            sql.Append(insert.Head).Append("\nVALUES ");
            for (var r = 0; r < count; r++)
            {
                Array.Clear(values);
                fill(first + r, values);
                sql.Append(r == 0 ? "(" : ", (");
                var v = 0;
                for (var c = 0; c < insert.Row.Length; c++)
                {
                    if (c > 0)
                    {
                        sql.Append(", ");
                    }

                    if (insert.Row[c] is { } literal)
                    {
                        sql.Append(literal);
                        continue;
                    }

                    var parameter = command.CreateParameter();
                    parameter.Value = SqlCommands.DbValue(values[v++]);
                    command.Parameters.Add(parameter);
                    sql.Append('$').Append(command.Parameters.Count);
                }

                sql.Append(')');
            }

            if (insert.Tail.Length > 0)
            {
                sql.Append('\n').Append(insert.Tail);
            }

            command.CommandText = sql.ToString();
            batch.BatchCommands.Add(command);
        }
    }

    /// <summary>
    /// The rows <paramref name="children"/> gives each of <paramref name="items"/>, under its container id, with their
    /// ordinal from 0 in order when <paramref name="ordinal"/>, then the values <paramref name="values"/> fills.
    /// </summary>
    private static void AddChildValues<TItem>(DbBatch batch, ValuesInsert insert, long[] ids, List<EmailToCommit> items,
        Func<EmailToCommit, IReadOnlyList<TItem>> children, RowValues<TItem> values, bool ordinal = true)
    {
        var rows = new List<(long Container, int Ordinal, TItem Item)>();
        for (var r = 0; r < items.Count; r++)
        {
            var list = children(items[r]);
            for (var i = 0; i < list.Count; i++)
            {
                rows.Add((ids[r], i, list[i]));
            }
        }

        if (rows.Count == 0)
        {
            return;
        }

        var first = ordinal ? 2 : 1;
        AddValues(batch, insert, rows.Count, (r, row) =>
        {
            row[0] = rows[r].Container;
            if (ordinal)
            {
                row[1] = rows[r].Ordinal;
            }

            values(rows[r].Item, row[first..]);
        });
    }

    /// <summary>The tables whose rows belong to one container, besides its key.</summary>
    private static readonly string[] ContainerRowTables = ["artifacts", "vault_files", "raw_emails", "deliveries"];

    /// <summary>The parameters of <see cref="InsertContainerSql"/> for <paramref name="item"/>, its key's first.</summary>
    private static (string, object?)[] ContainerParameters((string, object?)[] key, EmailToCommit item, DateTimeOffset now)
    {
        var container = item.Email.Container;
        return
        [
            .. key, ("name", container.Name), ("sdi", container.SourceDataIdentifier), ("label", container.Label),
            ("message_id", container.MessageId), ("date", container.Date), ("internal_date", container.Source.InternalDate),
            ("raw_sha256", container.RawSha256), ("raw_size", container.RawSize), ("raw_vault_id", item.RawEmail.Value),
            ("created_at", now), ("node", item.Node),
        ];
    }

    private static readonly RowValues<Artifact> ArtifactValues = static (artifact, row) =>
    {
        row[0] = artifact.Name;
        row[1] = artifact.Cef.ToJsonString(JsonOptions);
        row[2] = artifact.CefTypes?.ToJsonString(JsonOptions);
        row[3] = artifact.RunAutomation;
        row[4] = artifact.SourceDataIdentifier;
    };

    private static readonly RowValues<VaultFile> VaultFileValues = static (file, row) =>
    {
        row[0] = file.VaultId.Value;
        row[1] = file.FileName;
        row[2] = file.Size;
        row[3] = file.Sha256;
        row[4] = file.Md5;
    };

    /// <summary>Raw sizes within this of each other may be one email whose headers a server migration changed.</summary>
    internal const long MigrationSizeSlack = 16 * 1024;

    /// <summary>
    /// The container this email already has under another UIDVALIDITY of its mailbox (the server renumbered the folder),
    /// or null. First the same raw bytes (SHA-256). Then, for a migration that rewrote headers (an added Received or
    /// X- header changes every byte hash), the same Message-ID and Date header with a raw size within
    /// <see cref="MigrationSizeSlack"/>. Either way a container already claimed by a key of the current UIDVALIDITY is
    /// another copy, not this one, so two identical emails stay two containers.
    /// </summary>
    private static async Task<object?> FindRenumberedAsync(Statements s, (string, object?)[] key, EmailContainer container, CancellationToken ct)
    {
        var sameBytes = await s.ScalarAsync("""
            SELECT c.id FROM containers c
            WHERE c.asset = @asset AND c.folder = @folder AND c.raw_sha256 = @raw_sha256 AND c.uid_validity <> @uid_validity
              AND NOT EXISTS (SELECT 1 FROM email_keys k WHERE k.container_id = c.id AND k.uid_validity = @uid_validity)
            ORDER BY c.id
            LIMIT 1
            """, ct, [.. key, ("raw_sha256", container.RawSha256)]);
        if (sameBytes is not null || string.IsNullOrEmpty(container.MessageId))
        {
            return sameBytes;
        }

        var date = container.Date is null ? "c.date IS NULL" : "c.date = @date";
        return await s.ScalarAsync($"""
            SELECT c.id FROM containers c
            WHERE c.asset = @asset AND c.folder = @folder AND c.message_id = @message_id AND {date}
              AND c.raw_size BETWEEN @size_low AND @size_high AND c.uid_validity <> @uid_validity
              AND NOT EXISTS (SELECT 1 FROM email_keys k WHERE k.container_id = c.id AND k.uid_validity = @uid_validity)
            ORDER BY c.id
            LIMIT 1
            """, ct, [
                .. key, ("message_id", container.MessageId), ("date", container.Date),
                ("size_low", container.RawSize - MigrationSizeSlack), ("size_high", container.RawSize + MigrationSizeSlack),
            ]);
    }

    private static async Task<CommitResult> CommitOneAsync(Statements s, BatchState state, EmailToCommit item, DateTimeOffset now,
        CancellationToken ct)
    {
        var container = item.Email.Container;
        var source = container.Source;
        var emailKey = EmailKey.Of(source);
        var key = emailKey.Parameters();

        if (state.Known.TryGetValue(emailKey, out var existing))
        {
            return new CommitResult(source, existing, CommitOutcome.AlreadyIngested);
        }

        var reconcile = await state.MayReconcileAsync(s, emailKey, ct) ? await FindRenumberedAsync(s, key, container, ct) : null;
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

        var containerId = Convert.ToInt64(await s.ScalarAsync(InsertContainerSql, ct, ContainerParameters(key, item, now)));

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
        await InsertRowsAsync(s, ArtifactRows, containerId, item.Email.Artifacts, ArtifactValues, ct);
        await InsertRowsAsync(s, VaultFileRows, containerId, item.Email.VaultFiles, VaultFileValues, ct);

        if (item.RawBytes is { } rawBytes)
        {
            await s.ExecuteAsync(InsertRawSql, ct, ("container_id", containerId), ("content", rawBytes));
        }

        foreach (var destination in item.Destinations)
        {
            await s.ExecuteAsync(InsertDeliverySql, ct, ("container_id", containerId), ("destination", destination), ("created_at", now));
        }

        return new CommitResult(source, containerId, CommitOutcome.Created);
    }

    /// <summary>
    /// Inserts <paramref name="items"/> as the rows of <paramref name="insert"/>'s table for one container, ordinals
    /// counting from 0 in list order, <see cref="RowsInsert.RowsPerInsert"/> rows per statement.
    /// </summary>
    private static async Task InsertRowsAsync<T>(Statements s, RowsInsert insert, long containerId, IReadOnlyList<T> items,
        RowValues<T> values, CancellationToken ct)
    {
        for (var first = 0; first < items.Count; first += RowsInsert.RowsPerInsert)
        {
            var rows = Math.Min(RowsInsert.RowsPerInsert, items.Count - first);
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
        await s.ExecuteAsync(InsertKeySql, ct, [.. key, ("container_id", containerId)]) == 1;

    /// <inheritdoc />
    public async Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var uids = await SqlCommands.ListAsync(connection, """
            SELECT uid FROM email_keys
            WHERE asset = @asset AND folder = @folder AND uid_validity = @uid_validity AND uid BETWEEN @from AND @to
            """, r => checked((uint)r.GetInt64(0)), cancellationToken, ("asset", mailbox.Asset.Value), ("folder", mailbox.Folder.Value),
            ("uid_validity", (long)uidValidity), ("from", (long)from), ("to", (long)to));
        return uids.ToHashSet();
    }

    /// <summary>The values of one row's own columns, in the order its <see cref="RowsInsert"/> names them.</summary>
    private delegate void RowValues<in T>(T item, Span<object?> row);

    /// <summary>(asset, folder, UIDVALIDITY, UID) as the columns of <c>email_keys</c> hold it.</summary>
    private readonly record struct EmailKey(string Asset, string Folder, long UidValidity, long Uid)
    {
        public static EmailKey Of(EmailSource source) =>
            new(source.Asset.Value, source.Folder.Value, source.UidValidity, source.Uid);

        /// <summary>The key as the parameters <c>@asset</c>, <c>@folder</c>, <c>@uid_validity</c> and <c>@uid</c>.</summary>
        public (string, object?)[] Parameters() =>
            [("asset", Asset), ("folder", Folder), ("uid_validity", UidValidity), ("uid", Uid)];
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
