using System.Text.Json.Serialization;

namespace ImapActors.Storage;

/// <summary>A member of the cluster as one node sees it.</summary>
/// <param name="Node">Its host:port.</param>
/// <param name="Status">Akka's member status: Joining, WeaklyUp, Up, Leaving, Exiting, Down, Removed.</param>
/// <param name="Reachable">Whether the reporting node's failure detector reaches it.</param>
public sealed record ClusterMemberView(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reachable")] bool Reachable);

/// <summary>One mailbox by its configured names.</summary>
public sealed record MailboxName(
    [property: JsonPropertyName("asset")] string Asset,
    [property: JsonPropertyName("folder")] string Folder);

/// <summary>What one node last reported: the members it sees, the leader, and the mailboxes running on it.</summary>
/// <param name="Node">The reporting node's host:port.</param>
/// <param name="StartedAt">When the reporting process started.</param>
/// <param name="ReportedAt">When it wrote this report.</param>
/// <param name="Leader">The leader it sees; null while it has none.</param>
/// <param name="Members">Every member it sees, with its status and reachability.</param>
/// <param name="Mailboxes">The mailboxes running on it.</param>
public sealed record ClusterNodeView(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("reported_at")] DateTimeOffset ReportedAt,
    [property: JsonPropertyName("leader")] string? Leader,
    [property: JsonPropertyName("members")] IReadOnlyList<ClusterMemberView> Members,
    [property: JsonPropertyName("mailboxes")] IReadOnlyList<MailboxName> Mailboxes);

/// <summary>
/// The reports of the cluster's nodes, table <c>cluster_nodes</c>: each node replaces its own row every few seconds, so
/// <c>imapactors cluster status</c> reads the cluster from the database without joining it.
/// </summary>
public interface IClusterNodeViews
{
    /// <summary>Replaces the report of <see cref="ClusterNodeView.Node"/>.</summary>
    Task PublishNodeViewAsync(ClusterNodeView view, CancellationToken cancellationToken);

    /// <summary>Every node's last report, newest first.</summary>
    Task<IReadOnlyList<ClusterNodeView>> ReadNodeViewsAsync(CancellationToken cancellationToken);
}
