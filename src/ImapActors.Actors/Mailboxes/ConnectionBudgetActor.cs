using Akka.Actor;
using Akka.Event;
using ImapActors.Ingestion.Connections;

namespace ImapActors.Actors.Mailboxes;

/// <summary>What the folders' mailboxes of one asset and its connection budget say to each other; the sender is the holder.</summary>
public static class ConnectionProtocol
{
    /// <summary>The mailbox wants to connect; answered with <see cref="Granted"/> once a connection is free.</summary>
    public sealed class Acquire : INoSerializationVerificationNeeded
    {
        public static Acquire Instance { get; } = new();
    }

    /// <summary>The mailbox is between polls, its connection kept: it may be asked to yield it.</summary>
    public sealed class Rest : INoSerializationVerificationNeeded
    {
        public static Rest Instance { get; } = new();
    }

    /// <summary>The mailbox started a poll on the connection it holds.</summary>
    public sealed class Busy : INoSerializationVerificationNeeded
    {
        public static Busy Instance { get; } = new();
    }

    /// <summary>The mailbox closed its connection.</summary>
    public sealed class Release : INoSerializationVerificationNeeded
    {
        public static Release Instance { get; } = new();
    }

    /// <summary>The server refused the mailbox's connection as one too many for the user.</summary>
    public sealed class Refused : INoSerializationVerificationNeeded
    {
        public static Refused Instance { get; } = new();
    }

    /// <summary>From the node's supervisor: this node may use <paramref name="Limit"/> of the asset's connections.</summary>
    public sealed record Resize(int Limit) : INoSerializationVerificationNeeded;

    /// <summary>The mailbox may connect.</summary>
    public sealed class Granted : INoSerializationVerificationNeeded, IDeadLetterSuppression
    {
        public static Granted Instance { get; } = new();
    }

    /// <summary>Another folder waits: close the resting connection (LOGOUT) and release it.</summary>
    public sealed class Yield : INoSerializationVerificationNeeded, IDeadLetterSuppression
    {
        public static Yield Instance { get; } = new();
    }
}

/// <summary>
/// One asset's connection budget (<see cref="ConnectionBudget{THolder}"/>, <c>max_connections</c>), asked by its folders'
/// mailboxes before they connect. It watches each holder, so the connection of a mailbox that stops or crashes is free
/// at once.
/// </summary>
public sealed class ConnectionBudgetActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ConnectionBudget<IActorRef> _budget;

    public ConnectionBudgetActor(string asset, int limit)
    {
        _budget = ConnectionBudget.Of<IActorRef>(limit);
        Receive<ConnectionProtocol.Acquire>(_ =>
        {
            Context.Watch(Sender);
            Apply(_budget.Acquire(Sender));
        });
        Receive<ConnectionProtocol.Rest>(_ => Apply(_budget.Rest(Sender)));
        Receive<ConnectionProtocol.Busy>(_ => Apply(_budget.Busy(Sender)));
        Receive<ConnectionProtocol.Release>(_ => Apply(_budget.Release(Sender)));
        Receive<ConnectionProtocol.Refused>(_ =>
        {
            var before = _budget.Limit;
            Apply(_budget.Refused(Sender));
            if (_budget.Limit < before)
            {
                _log.Warning("The server of asset {Asset} refused a connection as one too many: its folders now share {Limit} connections (max_connections {Configured})",
                    asset, _budget.Limit, _budget.Configured);
            }
        });
        Receive<ConnectionProtocol.Resize>(resize => Apply(_budget.Resize(resize.Limit)));
        Receive<Terminated>(t => Apply(_budget.Release(t.ActorRef)));
    }

    private void Apply(BudgetStep<IActorRef> step)
    {
        _budget = step.Budget;
        foreach (var effect in step.Effects)
        {
            effect.Holder.Tell(effect.Notice == BudgetNotice.Granted ? ConnectionProtocol.Granted.Instance : ConnectionProtocol.Yield.Instance);
        }
    }

    public static Props Props(string asset, int limit) => Akka.Actor.Props.Create(() => new ConnectionBudgetActor(asset, limit));
}
