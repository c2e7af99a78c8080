using Akka.Actor;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using ImapActors.Actors.Cursor;
using ImapActors.Actors.Engine;

namespace ImapActors.Actors.Tests;

public class CursorSerializerTests() : TestKit(EngineHocon.Base(1))
{
    private static readonly DateTimeOffset T = new(2026, 11, 29, 12, 0, 0, TimeSpan.FromHours(1));

    public static TheoryData<object> Messages() => new()
    {
        new CursorEvents.FirstPollStarted(42, 900, T),
        new CursorEvents.UidValidityChanged(42, 43, T),
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Event_round_trips_through_the_bound_serializer(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ImapActors.Actors.Serialization.CursorSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var back = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        Assert.Equal(message, back);
    }

    [Fact]
    public void Committed_ranges_round_trip()
    {
        var message = new CursorEvents.UidsCommitted(42, [new UidRange(1, 100), new UidRange(200, 200)], 2, T);
        var back = (CursorEvents.UidsCommitted)RoundTrip(message);
        Assert.Equal(message.Ranges, back.Ranges);
        Assert.Equal((message.UidValidity, message.Quarantined, message.At), (back.UidValidity, back.Quarantined, back.At));
    }

    [Fact]
    public void Snapshot_round_trips()
    {
        var cursor = new MailboxCursor(42, true, 7, UidSet.Of([7, 8, 9, 20]), 3);
        var back = (CursorSnapshot)RoundTrip(new CursorSnapshot(cursor));
        Assert.Equal(cursor, back.Cursor);
    }

    [Fact]
    public void Manifests_are_fixed_strings_not_type_names()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new CursorEvents.FirstPollStarted(1, 1, T));
        Assert.Equal("cursor.first-poll.v1", serializer.Manifest(new CursorEvents.FirstPollStarted(1, 1, T)));
        Assert.Equal("cursor.committed.v1", serializer.Manifest(new CursorEvents.UidsCommitted(1, [], 0, T)));
    }

    private object RoundTrip(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        return Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));
    }
}
