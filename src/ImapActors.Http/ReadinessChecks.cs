using System.Text.Json.Nodes;
using Akka.Actor;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Storage;

namespace ImapActors.Http;

/// <summary>One check of <c>/api/v1/ready</c>: <c>pass</c>, <c>warn</c> (worth a look, still ready) or <c>fail</c>.</summary>
public sealed record ReadinessCheck(string Name, string Status, string Detail);

/// <summary>The checks' outcome: ready when none failed.</summary>
public sealed record ReadinessReport(IReadOnlyList<ReadinessCheck> Checks)
{
    public bool Ready => Checks.All(c => c.Status != "fail");

    public JsonObject ToJson() => new()
    {
        ["status"] = Ready ? "ready" : "not ready",
        ["checks"] = new JsonArray([.. Checks.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name,
            ["status"] = c.Status,
            ["detail"] = c.Detail,
        })]),
    };
}

/// <summary>
/// What <c>/api/v1/ready</c> checks: the store answers a query within five seconds; the mailboxes of this node started
/// (every configured one without a cluster); in a cluster, this node is an Up member. Stale mailboxes are a warning: a
/// mail server that is down does not make this node unfit to serve, but someone should look.
/// </summary>
public sealed class ReadinessChecks(EngineSettings settings, IContainerStore store, IngestionService ingestion, ActorSystem system)
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(5);

    public async Task<ReadinessReport> RunAsync(CancellationToken cancellationToken)
    {
        var checks = new List<ReadinessCheck> { await StoreAsync(cancellationToken) };
        checks.AddRange(await MailboxesAsync(cancellationToken));
        checks.Add(await DeliveriesAsync(cancellationToken));
        if (((ExtendedActorSystem)system).Provider is Akka.Cluster.ClusterActorRefProvider)
        {
            checks.Add(ClusterMember());
        }

        return new ReadinessReport(checks);
    }

    private async Task<ReadinessCheck> StoreAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StoreTimeout);
        try
        {
            await store.QueryContainersAsync(new ContainerQuery { Limit = 1 }, timeout.Token);
            return new ReadinessCheck("store", "pass", $"{settings.Storage.Provider} answers");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ReadinessCheck("store", "fail", $"{settings.Storage.Provider} did not answer within {StoreTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new ReadinessCheck("store", "fail", $"{settings.Storage.Provider} refused a query: {ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>How far behind each destination is: a warning, never a failure, since ingestion goes on without it.</summary>
    private async Task<ReadinessCheck> DeliveriesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = DateTimeOffset.UtcNow;
            var backlog = (await store.DeliveryBacklogAsync(cancellationToken)).ToDictionary(b => b.Destination, StringComparer.Ordinal);
            var behind = new List<string>();
            foreach (var destination in settings.Destinations)
            {
                if (backlog.GetValueOrDefault(destination.Name) is { } b && (b.Failing > 0 || b.Dead > 0))
                {
                    var age = b.OldestPending is { } oldest ? $", the oldest waiting {(now - oldest).TotalSeconds:0} s" : "";
                    behind.Add($"{destination.Name}: {b.Pending} undelivered ({b.Failing} failing{age}), {b.Dead} dead");
                }
            }

            var configured = settings.Destinations.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var orphan in backlog.Values.Where(b => !configured.Contains(b.Destination) && b.Pending + b.Dead > 0))
            {
                behind.Add($"{orphan.Destination}: {orphan.Pending + orphan.Dead} deliveries wait for a destination that is no longer configured");
            }

            return behind.Count == 0
                ? new ReadinessCheck("deliveries", "pass", settings.Destinations.Count == 0
                    ? "no destinations configured"
                    : $"{settings.Destinations.Count} destinations, none failing")
                : new ReadinessCheck("deliveries", "warn", string.Join("; ", behind));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new ReadinessCheck("deliveries", "warn", $"the outbox could not be read: {ex.Message}");
        }
    }

    private async Task<IEnumerable<ReadinessCheck>> MailboxesAsync(CancellationToken cancellationToken)
    {
        List<Actors.Ingestion.MailboxStatus> statuses;
        try
        {
            statuses = await ingestion.GetStatusAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return [new ReadinessCheck("mailboxes", "fail", "the ingestion supervisor did not answer")];
        }

        var configured = settings.Assets.Sum(a => a.Folders.Count);
        var running = statuses.Where(s => s.Running).ToList();
        var started = settings.Cluster.Enabled
            ? new ReadinessCheck("mailboxes", "pass", $"{running.Count} of the cluster's {configured} mailboxes run on this node")
            : running.Count == configured
                ? new ReadinessCheck("mailboxes", "pass", $"{running.Count} of {configured} mailboxes running")
                : new ReadinessCheck("mailboxes", "fail", $"{running.Count} of {configured} mailboxes running");
        var stale = running.Where(s => s.Stale).Select(s => s.Mailbox.ToString()).Order(StringComparer.Ordinal).ToList();
        var watchdog = stale.Count == 0
            ? new ReadinessCheck("stale", "pass", "every running mailbox polled within three poll intervals")
            : new ReadinessCheck("stale", "warn", $"{stale.Count} stale (no successful poll for three poll intervals): {string.Join(", ", stale)}");
        return [started, watchdog];
    }

    private ReadinessCheck ClusterMember()
    {
        var self = Akka.Cluster.Cluster.Get(system).SelfMember;
        return self.Status == Akka.Cluster.MemberStatus.Up
            ? new ReadinessCheck("cluster", "pass", $"{settings.Cluster.NodeName} is an Up member")
            : new ReadinessCheck("cluster", "fail", $"{settings.Cluster.NodeName} is {self.Status}, not Up");
    }
}
