using System.Data.Common;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>
/// The container store over ADO.NET, shared by SQLite and PostgreSQL: both speak the same DML (<c>ON CONFLICT</c>,
/// <c>RETURNING</c>, named parameters), so only opening, the write transaction and the column types differ. The
/// committer, the quarantine and the queries hold their own statements; this class gives them the database.
/// </summary>
public abstract class SqlContainerStore : IContainerStore, ISqlConnector
{
    private readonly SqlContainerCommitter _committer;
    private readonly SqlQuarantineStore _quarantine;
    private readonly SqlContainerQueries _queries;
    private readonly SqlClusterNodeViews _nodes;
    private readonly SqlDeliveryStore _deliveries;

    protected SqlContainerStore(TimeProvider? time)
    {
        var clock = time ?? TimeProvider.System;
        _committer = new SqlContainerCommitter(this, clock);
        _quarantine = new SqlQuarantineStore(this, clock);
        _queries = new SqlContainerQueries(this, JsonText);
        _nodes = new SqlClusterNodeViews(this);
        _deliveries = new SqlDeliveryStore(this, clock);
    }

    /// <summary>Opens a connection ready for use.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>SQL reading the text of top-level key <paramref name="key"/> of the JSON text in <paramref name="column"/>.</summary>
    protected abstract string JsonText(string column, string key);

    /// <summary>
    /// Begins the one transaction of a batch. It must keep two commits of the same mailbox from interleaving, so that
    /// the "no key of this UIDVALIDITY points at the container yet" test of reconciliation stays true until commit.
    /// </summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes,
        CancellationToken cancellationToken);

    /// <summary>See <see cref="ISqlConnector.ReserveContainerIdsSql"/>; none by default.</summary>
    protected virtual string? ReserveContainerIdsSql => null;

    string? ISqlConnector.ReserveContainerIdsSql => ReserveContainerIdsSql;

    Task<DbConnection> ISqlConnector.OpenAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    Task<DbTransaction> ISqlConnector.BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes,
        CancellationToken cancellationToken) => BeginWriteAsync(connection, mailboxes, cancellationToken);

    /// <inheritdoc />
    public abstract Task InitializeAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken) =>
        _committer.CommitAsync(batch, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to,
        CancellationToken cancellationToken) =>
        _committer.CommittedUidsAsync(mailbox, uidValidity, from, to, cancellationToken);

    /// <inheritdoc />
    public Task<long> QuarantineAsync(EmailSource source, VaultId? rawEmail, string stage, string error, string parserVersion,
        int attempts, CancellationToken cancellationToken) =>
        _quarantine.QuarantineAsync(source, rawEmail, stage, error, parserVersion, attempts, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken) =>
        _quarantine.ListQuarantineAsync(includeResolved, cancellationToken);

    /// <inheritdoc />
    public Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken) =>
        _quarantine.GetQuarantinedAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken) =>
        _quarantine.ResolveQuarantinedAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task PublishNodeViewAsync(ClusterNodeView view, CancellationToken cancellationToken) =>
        _nodes.PublishNodeViewAsync(view, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ClusterNodeView>> ReadNodeViewsAsync(CancellationToken cancellationToken) =>
        _nodes.ReadNodeViewsAsync(cancellationToken);

    /// <inheritdoc />
    public Task<ContainerPage> QueryContainersAsync(ContainerQuery query, CancellationToken cancellationToken) =>
        _queries.QueryContainersAsync(query, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken) =>
        _queries.ListContainersAsync(asset, cancellationToken);

    /// <inheritdoc />
    public Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken) =>
        _queries.GetContainerAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<VaultFile?> FindVaultFileAsync(VaultId id, CancellationToken cancellationToken) =>
        _queries.FindVaultFileAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken) =>
        _queries.CountContainersAsync(asset, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Delivery>> DueDeliveriesAsync(string destination, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _deliveries.DueDeliveriesAsync(destination, now, limit, cancellationToken);

    /// <inheritdoc />
    public Task MarkDeliveredAsync(long id, string? remoteId, CancellationToken cancellationToken) =>
        _deliveries.MarkDeliveredAsync(id, remoteId, cancellationToken);

    /// <inheritdoc />
    public Task MarkFailedAsync(long id, int attempts, DateTimeOffset nextAttemptAt, string error, bool dead, string? remoteId,
        CancellationToken cancellationToken) =>
        _deliveries.MarkFailedAsync(id, attempts, nextAttemptAt, error, dead, remoteId, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(DeliveryFilter filter, string? destination, long afterId, int limit,
        CancellationToken cancellationToken) =>
        _deliveries.ListDeliveriesAsync(filter, destination, afterId, limit, cancellationToken);

    /// <inheritdoc />
    public Task<Delivery?> GetDeliveryAsync(long id, CancellationToken cancellationToken) =>
        _deliveries.GetDeliveryAsync(id, cancellationToken);

    /// <inheritdoc />
    public Task<int> RetryDeliveriesAsync(long? id, string? destination, CancellationToken cancellationToken) =>
        _deliveries.RetryDeliveriesAsync(id, destination, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<DeliveryBacklog>> DeliveryBacklogAsync(CancellationToken cancellationToken) =>
        _deliveries.DeliveryBacklogAsync(cancellationToken);

    /// <inheritdoc />
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
