using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Mailboxes;
using ImapActors.Domain;

namespace ImapActors.Actors.Cluster;

/// <summary>
/// A mailbox as a sharded entity. It asks its node's <see cref="IngestionSupervisor"/> for the mailbox's options (the
/// node's pools, sink, admission gate and connection budget) and runs the <see cref="MailboxSupervisor"/> under it, so
/// the mailbox works on its node's pipeline whichever node the shard lives on. On <see cref="MailboxSharding.HandOff"/>
/// the mailbox stops gracefully (its batches in flight commit) before the entity stops and the shard moves.
/// </summary>
public sealed class MailboxEntity : ReceiveActor, IWithStash
{
    private readonly string _entityId;
    private readonly IActorRef _supervisor;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _mailbox = ActorRefs.Nobody;
    private MailboxId? _id;

    public MailboxEntity(string entityId, IActorRef supervisor)
    {
        _entityId = entityId;
        _supervisor = supervisor;
        Attaching();
    }

    public IStash Stash { get; set; } = null!;

    protected override void PreStart() => _supervisor.Tell(new IngestionProtocol.AttachMailbox(_entityId));

    private void Attaching()
    {
        Receive<IngestionProtocol.MailboxAttached>(attached =>
        {
            _id = attached.Options.Mailbox;
            _mailbox = Context.ActorOf(MailboxSupervisor.Props(attached.Options), "mailbox");
            Context.Watch(_mailbox);
            _log.Info("Mailbox {Mailbox} runs on this node", _id);
            Context.System.EventStream.Publish(new MailboxSharding.MailboxRunning(_id, true));
            Stash.UnstashAll();
            Become(Running);
        });
        Receive<IngestionProtocol.UnknownMailbox>(_ =>
        {
            // A mailbox remembered by the shard that the configuration no longer has: stopped for good.
            _log.Warning("Mailbox entity {Entity} is not in the configuration; it is stopped and forgotten", _entityId);
            Context.Parent.Tell(new Passivate(PoisonPill.Instance));
            Become(Passivating);
        });
        Receive<MailboxSharding.HandOff>(_ => Context.Stop(Self));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running()
    {
        Receive<MailboxSharding.EnsureMailbox>(_ => { });
        Receive<IMailboxCommand>(command => _mailbox.Forward(command));
        Receive<MailboxSharding.HandOff>(_ =>
        {
            _log.Info("Mailbox {Mailbox} is handed over: its batches in flight commit first", _id);
            _mailbox.Tell(new MailboxCommands.StopGracefully(_id!));
            Become(HandingOff);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_mailbox), _ => Context.Stop(Self));
    }

    private void HandingOff()
    {
        Receive<Terminated>(t => t.ActorRef.Equals(_mailbox), _ => Context.Stop(Self));
        ReceiveAny(_ => { });
    }

    private void Passivating() => ReceiveAny(_ => { });

    protected override void PostStop()
    {
        if (_id is not null)
        {
            Context.System.EventStream.Publish(new MailboxSharding.MailboxRunning(_id, false));
        }
    }
}
