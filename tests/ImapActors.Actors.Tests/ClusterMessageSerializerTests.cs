using Akka.TestKit.Xunit2;
using ImapActors.Actors.Cluster;
using ImapActors.Actors.Engine;
using ImapActors.Configuration;

namespace ImapActors.Actors.Tests;

/// <summary>Every message that crosses nodes goes through its own serializer, with no CLR type name on the wire.</summary>
public class ClusterMessageSerializerTests() : TestKit(ClusterConfig.Serialization.WithFallback(EngineHocon.Base(1)))
{
    public static TheoryData<object> Messages() => new()
    {
        new MailboxSharding.EnsureMailbox("phish.0123456789abcdef"),
        new MailboxSharding.EnsureMailbox("ünïcode-ässet.fedcba9876543210"),
        MailboxSharding.HandOff.Instance,
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Message_round_trips_through_the_bound_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ClusterMessageSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.DoesNotContain("ImapActors", manifest, StringComparison.Ordinal);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        Assert.Equal(message, back);
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_its_name()
    {
        var serializer = (ClusterMessageSerializer)Sys.Serialization.FindSerializerFor(new MailboxSharding.EnsureMailbox("x"));
        var e = Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary([], "poll-mailbox"));
        Assert.Contains("poll-mailbox", e.Message, StringComparison.Ordinal);
    }
}
