using Akka.Actor;
using Akka.Cluster.Sharding;
using ImapActors.Actors.Mailboxes;

namespace ImapActors.Actors.Cluster;

/// <summary>
/// Mailboxes as sharded entities, in cluster mode: one entity per (asset, folder), its id the mailbox's stable id, so
/// that each mailbox has exactly one writer in the cluster and is started again on another node when its node goes.
/// </summary>
public static class MailboxSharding
{
    /// <summary>The shard region's type name.</summary>
    public const string TypeName = "mailbox";

    /// <summary>
    /// Shards of the mailbox entities: about ten times the largest cluster expected, and never to be changed while a
    /// cluster has data (a mailbox's shard is remembered under this count).
    /// </summary>
    public const int ShardCount = 100;

    /// <summary>Messages for one mailbox entity, from any node: each carries the entity's id and has an explicit serializer.</summary>
    public interface IMailboxShardMessage
    {
        string EntityId { get; }
    }

    /// <summary>Starts the mailbox's entity if it is not running (sent by the reconciler for every configured mailbox).</summary>
    public sealed record EnsureMailbox(string EntityId) : IMailboxShardMessage;

    /// <summary>
    /// What the shard sends an entity it hands over to another node (rebalance, a node leaving): the mailbox commits its
    /// batches in flight and stops, and the new owner recovers its cursor from the journal.
    /// </summary>
    public sealed class HandOff : IMailboxShardMessage
    {
        public static readonly HandOff Instance = new();

        private HandOff()
        {
        }

        public string EntityId => string.Empty;
    }

    /// <summary>
    /// Published on this node's event stream when a mailbox entity starts or stops running its mailbox here (local
    /// only, never sent to another node).
    /// </summary>
    public sealed record MailboxRunning(ImapActors.Domain.MailboxId Mailbox, bool Running);

    /// <summary>The entity id of the shard messages and of the mailbox commands a node routes through the region.</summary>
    public sealed class MessageExtractor() : HashCodeMessageExtractor(ShardCount)
    {
        public override string? EntityId(object message) => message switch
        {
            IMailboxShardMessage m => m.EntityId,
            IMailboxCommand c => c.Mailbox.StableId,
            _ => null,
        };
    }

    /// <summary>The shard region of the mailbox entities, as registered in the actor registry.</summary>
    public sealed class Region;

    /// <summary>The cluster singleton that keeps every configured mailbox started (<see cref="MailboxReconciler"/>).</summary>
    public sealed class Reconciler;

    /// <summary>The props of the entity with <paramref name="entityId"/>, on the node whose ingestion supervisor is <paramref name="supervisor"/>.</summary>
    public static Props EntityProps(string entityId, IActorRef supervisor) =>
        Props.Create(() => new MailboxEntity(entityId, supervisor));
}
