using Akka.Actor;
using Akka.Event;

namespace ImapActors.Actors.Cluster;

/// <summary>
/// The cluster singleton that makes sure every configured mailbox runs once: at start and then on a timer, it sends
/// each mailbox's entity an <see cref="MailboxSharding.EnsureMailbox"/> through the shard region. Remember-entities
/// restarts the entities of a lost node by itself; this covers a first start and mailboxes added to the configuration.
/// Every node reads the same configuration, so whichever node holds the singleton knows every mailbox.
/// </summary>
public sealed class MailboxReconciler : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    public MailboxReconciler(IReadOnlyList<string> entityIds, IActorRef region, TimeSpan interval)
    {
        var log = Context.GetLogger();
        Receive<Tick>(_ =>
        {
            foreach (var id in entityIds)
            {
                region.Tell(new MailboxSharding.EnsureMailbox(id));
            }
        });
        log.Info("Mailbox reconciler started on this node: {Count} mailboxes", entityIds.Count);
        Self.Tell(Tick.Instance);
        Timers!.StartPeriodicTimer("ensure", Tick.Instance, interval);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IReadOnlyList<string> entityIds, IActorRef region, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new MailboxReconciler(entityIds, region, interval));
}
