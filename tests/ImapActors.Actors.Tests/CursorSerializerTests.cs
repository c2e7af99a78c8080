using Akka.Actor;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using ImapActors.Ingestion.Cursor;
using ImapActors.Actors.Engine;

namespace ImapActors.Actors.Tests;

public class CursorSerializerTests() : TestKit(EngineHocon.Base(1))
{
    private static readonly DateTimeOffset T = new(2026, 11, 29, 12, 0, 0, TimeSpan.FromHours(1));

    public static TheoryData<object> Messages() => new()
    {
        new CursorEvents.FirstPollStarted(42, 900, T),
        new CursorEvents.UidValidityChanged(42, 43, T),
        new CursorEvents.FolderSearched(42, 2000, T),
        new CursorEvents.FirstPollStarted(42, 900, T, T.AddDays(-3)),
        new CursorEvents.FloorPlaced(43, 17, T),
        new CursorSnapshot(new MailboxCursor(43, true, 0, UidSet.Empty, 2, 0, T.AddDays(-3))),
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
    public void Snapshot_carries_the_searched_through_mark()
    {
        var cursor = new MailboxCursor(42, true, 1, UidSet.Of([1, 2, 3]), 0, SearchedThrough: 1400);
        var back = (CursorSnapshot)RoundTrip(new CursorSnapshot(cursor));
        Assert.Equal(1400u, back.Cursor.SearchedThrough);
        Assert.Equal(cursor, back.Cursor);
    }

    [Fact]
    public void The_searched_event_has_its_own_fixed_manifest_and_json()
    {
        var message = new CursorEvents.FolderSearched(42, 2000, T);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(message);
        Assert.Equal("cursor.searched.v1", serializer.Manifest(message));
        Assert.Equal("""{"uidValidity":42,"through":2000,"at":"2026-11-29T12:00:00+01:00"}""",
            System.Text.Encoding.UTF8.GetString(serializer.ToBinary(message)));
    }

    [Fact]
    public void Manifests_are_fixed_strings_not_type_names()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new CursorEvents.FirstPollStarted(1, 1, T));
        Assert.Equal("cursor.first-poll.v1", serializer.Manifest(new CursorEvents.FirstPollStarted(1, 1, T)));
        Assert.Equal("cursor.committed.v1", serializer.Manifest(new CursorEvents.UidsCommitted(1, [], 0, T)));
    }

    [Fact]
    public void Every_manifest_keeps_the_string_existing_journals_hold()
    {
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(new CursorEvents.FirstPollStarted(1, 1, T));
        Assert.Equal("cursor.uidvalidity.v1", serializer.Manifest(new CursorEvents.UidValidityChanged(1, 2, T)));
        Assert.Equal("cursor.snapshot.v1", serializer.Manifest(new CursorSnapshot(MailboxCursor.Initial)));
    }

    [Fact]
    public void The_bindings_name_the_cursor_types_where_they_live_now()
    {
        Assert.IsType<ImapActors.Actors.Serialization.CursorSerializer>(Sys.Serialization.FindSerializerFor(new CursorSnapshot(MailboxCursor.Initial)));
        Assert.IsType<ImapActors.Actors.Serialization.CursorSerializer>(
            Sys.Serialization.FindSerializerForType(typeof(CursorEvents.UidsCommitted)));
        Assert.Equal("ImapActors.Ingestion", typeof(ICursorEvent).Assembly.GetName().Name);
    }

    /// <summary>Rows as the journal of the engine before the cursor moved to ImapActors.Ingestion holds them.</summary>
    public static TheoryData<string, string, object> JournalRows() => new()
    {
        { "cursor.first-poll.v1", """{"uidValidity":42,"floor":900,"at":"2026-11-29T12:00:00+01:00"}""", new CursorEvents.FirstPollStarted(42, 900, T) },
        { "cursor.uidvalidity.v1", """{"previous":42,"current":43,"at":"2026-11-29T12:00:00+01:00"}""", new CursorEvents.UidValidityChanged(42, 43, T) },
        { "cursor.searched.v1", """{"uidValidity":42,"through":2000,"at":"2026-11-29T12:00:00+01:00"}""", new CursorEvents.FolderSearched(42, 2000, T) },
    };

    [Theory]
    [MemberData(nameof(JournalRows))]
    public void Events_written_before_the_move_still_recover(string manifest, string json, object expected)
    {
        var back = Sys.Serialization.Deserialize(System.Text.Encoding.UTF8.GetBytes(json), 4711, manifest);
        Assert.Equal(expected, back);
    }

    [Fact]
    public void Committed_ranges_and_snapshots_written_before_the_move_still_recover()
    {
        var committed = (CursorEvents.UidsCommitted)Sys.Serialization.Deserialize(
            """{"uidValidity":42,"ranges":[[1,100],[200,200]],"quarantined":2,"at":"2026-11-29T12:00:00+01:00"}"""u8.ToArray(), 4711, "cursor.committed.v1");
        Assert.Equal([new UidRange(1, 100), new UidRange(200, 200)], committed.Ranges);
        Assert.Equal((42u, 2, T), (committed.UidValidity, committed.Quarantined, committed.At));

        var snapshot = (CursorSnapshot)Sys.Serialization.Deserialize(
            """{"uidValidity":42,"started":true,"floor":7,"committed":[[7,9],[20,20]],"quarantinedTotal":3}"""u8.ToArray(), 4711, "cursor.snapshot.v1");
        Assert.Equal(new MailboxCursor(42, true, 7, UidSet.Of([7, 8, 9, 20]), 3), snapshot.Cursor);
        Assert.Equal(0u, snapshot.Cursor.SearchedThrough);
    }

    [Fact]
    public void A_journal_written_before_the_mark_replays_to_the_cursor_it_held()
    {
        // The manifests and payloads such a journal holds, and no searched event among them.
        (string Manifest, string Json)[] rows =
        [
            ("cursor.first-poll.v1", """{"uidValidity":42,"floor":1,"at":"2026-11-29T12:00:00+01:00"}"""),
            ("cursor.committed.v1", """{"uidValidity":42,"ranges":[[1,499],[1401,2000]],"quarantined":0,"at":"2026-11-29T12:00:00+01:00"}"""),
        ];
        var cursor = rows.Aggregate(MailboxCursor.Initial, (c, row) =>
            c.Apply((ICursorEvent)Sys.Serialization.Deserialize(System.Text.Encoding.UTF8.GetBytes(row.Json), 4711, row.Manifest)));
        Assert.Equal(new MailboxCursor(42, true, 1, UidSet.FromRanges([new UidRange(1, 499), new UidRange(1401, 2000)]), 0), cursor);
        Assert.Equal(500u, cursor.LowestPending);
    }

    private object RoundTrip(object message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        return Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, message));
    }
}
