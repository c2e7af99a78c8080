namespace ImapActors.Storage;

/// <summary>
/// The container store: the committer, the quarantine and the queries over one database. Every write is idempotent on
/// (asset, folder, UIDVALIDITY, UID), so a batch re-delivered after a crash creates and changes nothing.
/// </summary>
public interface IContainerStore : IContainerCommitter, IQuarantineStore, IContainerQueries, IClusterNodeViews, IDeliveryStore, IAsyncDisposable
{
    /// <summary>Creates the schema when missing. Safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores written before paging existed (test doubles that list nothing) keep compiling; the SQL stores implement it.
    /// </summary>
    Task<ContainerPage> IContainerQueries.QueryContainersAsync(ContainerQuery query, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} does not page containers");

    /// <summary>Test doubles keep no reports; the SQL stores implement it.</summary>
    Task IClusterNodeViews.PublishNodeViewAsync(ClusterNodeView view, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no cluster reports");

    /// <summary>Test doubles keep no outbox; the SQL stores implement it.</summary>
    Task<IReadOnlyList<Delivery>> IDeliveryStore.DueDeliveriesAsync(string destination, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task IDeliveryStore.MarkDeliveredAsync(long id, string? remoteId, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task IDeliveryStore.MarkFailedAsync(long id, int attempts, DateTimeOffset nextAttemptAt, string error, bool dead, string? remoteId,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task<IReadOnlyList<Delivery>> IDeliveryStore.ListDeliveriesAsync(DeliveryFilter filter, string? destination, long afterId, int limit,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task<Delivery?> IDeliveryStore.GetDeliveryAsync(long id, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task<int> IDeliveryStore.RetryDeliveriesAsync(long? id, string? destination, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    Task<IReadOnlyList<DeliveryBacklog>> IDeliveryStore.DeliveryBacklogAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no outbox");

    /// <summary>Test doubles keep no reports; the SQL stores implement it.</summary>
    Task<IReadOnlyList<ClusterNodeView>> IClusterNodeViews.ReadNodeViewsAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} keeps no cluster reports");
}
