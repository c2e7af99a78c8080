using System.Globalization;
using System.Text.Json.Nodes;

namespace ImapActors.Storage;

/// <summary>Where a container's delivery to one destination stands.</summary>
public enum DeliveryState
{
    /// <summary>Not delivered yet: due at <see cref="Delivery.NextAttemptAt"/> (a failed one has attempts and an error).</summary>
    Pending,

    /// <summary>The destination has it.</summary>
    Delivered,

    /// <summary>Given up: too many attempts, or refused for good. Only a retry sends it again.</summary>
    Dead,
}

/// <summary>One container's delivery to one destination: a row of the outbox, written with the container.</summary>
public sealed record Delivery(
    long Id,
    long ContainerId,
    string Destination,
    DeliveryState State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    string? RemoteId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt)
{
    /// <summary>Pending after a failed attempt (one the destination's outage did not count against it included).</summary>
    public bool Failing => State == DeliveryState.Pending && LastError is not null;

    /// <summary>What <c>deliveries list</c> and the API call its state: pending, failed, delivered or dead.</summary>
    public string StateName => Failing ? "failed" : State.ToString().ToLowerInvariant();
}

/// <summary>Which deliveries a listing keeps.</summary>
public enum DeliveryFilter
{
    All,
    Pending,
    Failed,
    Delivered,
    Dead,
}

/// <summary>The state names <c>deliveries list --state</c> and the API's <c>state=</c> take.</summary>
public static class DeliveryFilters
{
    /// <summary>The filter a state name selects: null or empty for all, null for a name that is none of them.</summary>
    public static DeliveryFilter? Parse(string? state) => state switch
    {
        null or "" => DeliveryFilter.All,
        "pending" => DeliveryFilter.Pending,
        "failed" => DeliveryFilter.Failed,
        "delivered" => DeliveryFilter.Delivered,
        "dead" => DeliveryFilter.Dead,
        _ => null,
    };
}

/// <summary>One destination's outbox at a glance.</summary>
/// <param name="Destination">The destination's name.</param>
/// <param name="Pending">Deliveries not made yet, the failing ones included.</param>
/// <param name="Failing">Pending deliveries whose last attempt failed.</param>
/// <param name="Dead">Deliveries given up.</param>
/// <param name="OldestPending">When the oldest pending delivery's container was committed.</param>
public sealed record DeliveryBacklog(string Destination, long Pending, long Failing, long Dead, DateTimeOffset? OldestPending);

/// <summary>
/// The outbox: one row per new container and destination of its asset, written in the container's own transaction (see
/// <see cref="EmailToCommit.Destinations"/>), so a committed container is never without its deliveries and a rolled
/// back one never has any.
/// </summary>
public interface IDeliveryStore
{
    /// <summary>Pending deliveries to <paramref name="destination"/> due at <paramref name="now"/>, oldest container first.</summary>
    Task<IReadOnlyList<Delivery>> DueDeliveriesAsync(string destination, DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Records a delivery made; <paramref name="remoteId"/> is what the destination calls it (SOAR's container id).</summary>
    Task MarkDeliveredAsync(long id, string? remoteId, CancellationToken cancellationToken);

    /// <summary>
    /// Records a failed attempt: due again at <paramref name="nextAttemptAt"/>, or dead; <paramref name="remoteId"/>, when
    /// the destination made its container before the attempt failed, is kept for the next attempt.
    /// </summary>
    Task MarkFailedAsync(long id, int attempts, DateTimeOffset nextAttemptAt, string error, bool dead, string? remoteId,
        CancellationToken cancellationToken);

    /// <summary>Deliveries in id order after <paramref name="afterId"/>, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryFilter filter, string? destination, long afterId, int limit,
        CancellationToken cancellationToken);

    Task<Delivery?> GetDeliveryAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a delivery that is not delivered (dead or pending) due now with its attempts counted from 0 and no error; with a null
    /// <paramref name="id"/>, every dead delivery (of <paramref name="destination"/> when given). Returns how many.
    /// </summary>
    Task<int> RetryDeliveriesAsync(long? id, string? destination, CancellationToken cancellationToken);

    /// <summary>Every destination with deliveries, and its backlog.</summary>
    Task<IReadOnlyList<DeliveryBacklog>> DeliveryBacklogAsync(CancellationToken cancellationToken);
}

/// <summary>A delivery as <c>deliveries list --json</c> and the HTTP API show it.</summary>
public static class DeliveryJson
{
    /// <summary>One delivery as the CLI's JSON lines and the HTTP API show it.</summary>
    public static JsonObject ToJson(Delivery d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return new JsonObject
        {
            ["id"] = d.Id,
            ["container_id"] = d.ContainerId,
            ["destination"] = d.Destination,
            ["state"] = d.StateName,
            ["attempts"] = d.Attempts,
            ["next_attempt"] = d.State == DeliveryState.Pending ? d.NextAttemptAt.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture) : null,
            ["last_error"] = d.LastError,
            ["remote_id"] = d.RemoteId,
            ["created"] = d.CreatedAt.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            ["delivered"] = d.DeliveredAt?.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
        };
    }
}
