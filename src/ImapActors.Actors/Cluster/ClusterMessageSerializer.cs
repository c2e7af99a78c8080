using System.Text;
using Akka.Actor;
using Akka.Serialization;

namespace ImapActors.Actors.Cluster;

/// <summary>
/// The serializer of the messages that cross nodes (<see cref="MailboxSharding.IMailboxShardMessage"/>): a short,
/// permanent manifest per type and the entity id as UTF-8, so no CLR type name is ever on the wire.
/// </summary>
public sealed class ClusterMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const string EnsureMailboxManifest = "ensure-mailbox";
    private const string HandOffManifest = "hand-off";

    /// <summary>Unique among the system's serializers (Akka's own are below 100).</summary>
    public override int Identifier => 1742;

    public override string Manifest(object o) => o switch
    {
        MailboxSharding.EnsureMailbox => EnsureMailboxManifest,
        MailboxSharding.HandOff => HandOffManifest,
        _ => throw new ArgumentException($"{o.GetType()} is not a cluster message of this serializer", nameof(o)),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        MailboxSharding.EnsureMailbox e => Encoding.UTF8.GetBytes(e.EntityId),
        MailboxSharding.HandOff => [],
        _ => throw new ArgumentException($"{obj.GetType()} is not a cluster message of this serializer", nameof(obj)),
    };

    public override object FromBinary(byte[] bytes, string manifest) => manifest switch
    {
        EnsureMailboxManifest => new MailboxSharding.EnsureMailbox(Encoding.UTF8.GetString(bytes)),
        HandOffManifest => MailboxSharding.HandOff.Instance,
        _ => throw new System.Runtime.Serialization.SerializationException($"unknown cluster message manifest '{manifest}'"),
    };
}
