using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Storage;

namespace ImapActors.Http;

/// <summary>One mailbox as <c>GET /api/v1/mailboxes</c> and the console show it.</summary>
/// <param name="Asset">The asset's name.</param>
/// <param name="Folder">The folder.</param>
/// <param name="Node">The node it runs on (host:port in a cluster, the machine's name otherwise); null when it runs nowhere.</param>
/// <param name="State">
/// <c>polling</c> (its last poll went through), <c>starting</c> (no poll yet), <c>retrying</c> (its last attempt failed;
/// see <paramref name="NextRetry"/>), <c>stale</c> (no successful poll for three poll intervals), <c>gave-up</c>
/// (<c>run --once</c>), <c>stopped</c>, or in a cluster <c>elsewhere</c> (another node runs it; ask that node for its
/// detail) and <c>unassigned</c> (no node reports it).
/// </param>
/// <param name="UidValidity">The folder's UIDVALIDITY at the last poll.</param>
/// <param name="Committed">UIDs of that UIDVALIDITY committed so far (ingested, reconciled, quarantined or gone).</param>
/// <param name="Lag">Emails the last poll's search found on the server that are not committed yet.</param>
/// <param name="LastPoll">When a poll last went through.</param>
/// <param name="LastError">The last failure's cause and message, until a poll goes through.</param>
/// <param name="NextRetry">When the mailbox tries again after a failure.</param>
/// <param name="StaleSince">Since when it is stale.</param>
/// <param name="Created">Containers it created since this node started it.</param>
/// <param name="Quarantined">Emails it quarantined since this node started it.</param>
/// <param name="FailuresInARow">Failures since its last successful poll.</param>
public sealed record MailboxView(
    string Asset,
    string Folder,
    string? Node,
    string State,
    uint? UidValidity,
    long? Committed,
    long? Lag,
    DateTimeOffset? LastPoll,
    string? LastError,
    DateTimeOffset? NextRetry,
    DateTimeOffset? StaleSince,
    long? Created,
    long? Quarantined,
    int? FailuresInARow)
{
    /// <summary>The state word of a mailbox this node runs (or ran).</summary>
    public static string StateOf(MailboxStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return !status.Running ? "stopped"
            : status.GaveUp ? "gave-up"
            : status.Stale ? "stale"
            : status.NextAttempt is not null ? "retrying"
            : status.LastPoll is null ? "starting"
            : "polling";
    }

    /// <summary>
    /// Every configured mailbox: those this node runs with their detail, and in a cluster the others with the node its
    /// reports say runs each.
    /// </summary>
    public static async Task<List<MailboxView>> ListAsync(EngineSettings settings, IngestionService ingestion, IContainerStore store,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(ingestion);
        ArgumentNullException.ThrowIfNull(store);
        var here = (await ingestion.GetStatusAsync(cancellationToken))
            .Where(s => s.Running || !settings.Cluster.Enabled)
            .ToDictionary(s => s.Mailbox);
        var node = settings.Cluster.NodeName;
        ClusterStatus? cluster = null;
        if (settings.Cluster.Enabled)
        {
            cluster = ClusterStatus.From(settings, await store.ReadNodeViewsAsync(cancellationToken), DateTimeOffset.UtcNow);
        }

        var views = new List<MailboxView>();
        foreach (var asset in settings.Assets)
        {
            foreach (var folder in asset.Folders)
            {
                var id = new MailboxId(asset.Name, folder);
                if (here.TryGetValue(id, out var s))
                {
                    views.Add(new MailboxView(asset.Name.Value, folder.Value, node, StateOf(s), s.UidValidity, s.Committed, s.Lag, s.LastPoll,
                        s.LastError, s.NextAttempt, s.StaleSince, s.Created, s.Quarantined, s.FailuresInARow));
                    continue;
                }

                var elsewhere = cluster?.Mailboxes.FirstOrDefault(m => m.Asset == asset.Name.Value && m.Folder == folder.Value)?.Nodes
                    .FirstOrDefault(n => n != node);
                views.Add(new MailboxView(asset.Name.Value, folder.Value, elsewhere, elsewhere is null ? "unassigned" : "elsewhere",
                    null, null, null, null, null, null, null, null, null, null));
            }
        }

        return views;
    }
}
