using System.Data.Common;

namespace ImapActors.Storage.Sql;

/// <summary>The outbox over ADO.NET, shared by SQLite and PostgreSQL (its rows are inserted by the committer).</summary>
internal sealed class SqlDeliveryStore(ISqlConnector database, TimeProvider time) : IDeliveryStore
{
    private const string Columns = StoreSchema.DeliveryColumns;

    /// <inheritdoc />
    public async Task<IReadOnlyList<Delivery>> DueDeliveriesAsync(string destination, DateTimeOffset now, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await SqlCommands.ListAsync(connection, $"""
            SELECT {Columns} FROM deliveries
            WHERE destination = @destination AND state = 'pending' AND next_attempt_at <= @now
            ORDER BY id
            LIMIT @limit
            """, Read, cancellationToken, ("destination", destination), ("now", now), ("limit", limit));
    }

    /// <inheritdoc />
    public async Task MarkDeliveredAsync(long id, string? remoteId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await SqlCommands.ExecuteAsync(connection, null, """
            UPDATE deliveries SET state = 'delivered', remote_id = @remote_id, delivered_at = @now, attempts = attempts + 1
            WHERE id = @id
            """, cancellationToken, ("id", id), ("remote_id", remoteId), ("now", time.GetUtcNow()));
    }

    /// <inheritdoc />
    public async Task MarkFailedAsync(long id, int attempts, DateTimeOffset nextAttemptAt, string error, bool dead, string? remoteId,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Only a pending row takes a failure: one delivered meanwhile (by the destination's next owner, after a hand-over)
        // stays delivered.
        await SqlCommands.ExecuteAsync(connection, null, """
            UPDATE deliveries SET state = @state, attempts = @attempts, next_attempt_at = @next, last_error = @error,
                                  remote_id = COALESCE(@remote_id, remote_id)
            WHERE id = @id AND state = 'pending'
            """, cancellationToken, ("id", id), ("state", dead ? "dead" : "pending"), ("attempts", attempts), ("next", nextAttemptAt),
            ("error", error), ("remote_id", remoteId));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryFilter filter, string? destination, long afterId, int limit,
        CancellationToken cancellationToken)
    {
        var state = filter switch
        {
            DeliveryFilter.Pending => "AND state = 'pending'",
            DeliveryFilter.Failed => "AND state = 'pending' AND last_error IS NOT NULL",
            DeliveryFilter.Delivered => "AND state = 'delivered'",
            DeliveryFilter.Dead => "AND state = 'dead'",
            _ => "",
        };
        var where = destination is null ? "" : "AND destination = @destination";
        await using var connection = await database.OpenAsync(cancellationToken);
        return await SqlCommands.ListAsync(connection, $"""
            SELECT {Columns} FROM deliveries
            WHERE id > @after_id {state} {where}
            ORDER BY id
            LIMIT @limit
            """, Read, cancellationToken, ("after_id", afterId), ("destination", destination), ("limit", limit));
    }

    /// <inheritdoc />
    public async Task<Delivery?> GetDeliveryAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var found = await SqlCommands.ListAsync(connection, $"SELECT {Columns} FROM deliveries WHERE id = @id", Read, cancellationToken, ("id", id));
        return found.Count == 0 ? null : found[0];
    }

    /// <inheritdoc />
    public async Task<int> RetryDeliveriesAsync(long? id, string? destination, CancellationToken cancellationToken)
    {
        var which = id is not null ? "id = @id AND state <> 'delivered'" : "state = 'dead'" + (destination is null ? "" : " AND destination = @destination");
        await using var connection = await database.OpenAsync(cancellationToken);
        return await SqlCommands.ExecuteAsync(connection, null, $"""
            UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = @now, last_error = NULL
            WHERE {which}
            """, cancellationToken, ("id", id), ("destination", destination), ("now", time.GetUtcNow()));
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeliveryBacklog>> DeliveryBacklogAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Only the open rows (pending or dead) are read, through their own index: delivered rows, the vast majority
        // of a long-running outbox, cost nothing here. Rows are inserted in commit order, so the oldest pending one has
        // the earliest created_at.
        return await SqlCommands.ListAsync(connection, """
            SELECT destination,
                   SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state = 'pending' AND last_error IS NOT NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END),
                   MIN(CASE WHEN state = 'pending' THEN created_at END)
            FROM deliveries WHERE state IN ('pending', 'dead') GROUP BY destination ORDER BY destination
            """, r => new DeliveryBacklog(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3),
                r.IsDBNull(4) ? null : r.GetFieldValue<DateTimeOffset>(4)), cancellationToken);
    }

    private static Delivery Read(DbDataReader r) => new(
        r.GetInt64(0),
        r.GetInt64(1),
        r.GetString(2),
        r.GetString(3) switch
        {
            "delivered" => DeliveryState.Delivered,
            "dead" => DeliveryState.Dead,
            _ => DeliveryState.Pending,
        },
        r.GetInt32(4),
        r.GetFieldValue<DateTimeOffset>(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7),
        r.GetFieldValue<DateTimeOffset>(8),
        r.IsDBNull(9) ? null : r.GetFieldValue<DateTimeOffset>(9));
}
