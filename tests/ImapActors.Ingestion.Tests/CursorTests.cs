using ImapActors.Ingestion.Cursor;
using ImapActors.Domain;

namespace ImapActors.Ingestion.Tests;

public class UidSetTests
{
    [Fact]
    public void Consecutive_uids_collapse_into_one_range()
    {
        var set = UidSet.Of([3, 1, 2, 5, 4, 9]);
        Assert.Equal("1:5,9", set.ToString());
        Assert.Equal(6, set.Count);
    }

    [Fact]
    public void Adding_a_range_that_bridges_two_merges_them()
    {
        var set = UidSet.Of([1, 2, 8, 9]).Add(new UidRange(3, 7));
        Assert.Equal("1:9", set.ToString());
    }

    [Fact]
    public void First_missing_skips_committed_ranges()
    {
        var set = UidSet.Of([1, 2, 3, 5]);
        Assert.Equal(4u, set.FirstMissingFrom(1));
        Assert.Equal(6u, set.FirstMissingFrom(5));
        Assert.Equal(10u, set.FirstMissingFrom(10));
    }

    [Fact]
    public void Contains_matches_a_linear_scan()
    {
        var rnd = new Random(7);
        var uids = Enumerable.Range(0, 300).Select(_ => (uint)rnd.Next(1, 500)).ToHashSet();
        var set = UidSet.Of(uids);
        for (uint u = 0; u < 520; u++)
        {
            Assert.Equal(uids.Contains(u), set.Contains(u));
        }
    }

    [Fact]
    public void Max_uid_does_not_overflow()
    {
        var set = UidSet.Of([uint.MaxValue - 1, uint.MaxValue]).Add(new UidRange(1, 2));
        Assert.Equal(uint.MaxValue, set.FirstMissingFrom(uint.MaxValue - 1));
        Assert.Equal(3u, set.FirstMissingFrom(1));
    }
}

public class MailboxCursorTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static MailboxCursor Run(MailboxCursor cursor, IEnumerable<ICursorEvent> events) =>
        events.Aggregate(cursor, (c, e) => c.Apply(e));

    [Fact]
    public void Cursor_does_not_commit_before_a_first_poll()
    {
        var events = MailboxCursor.Initial.Decide(new CursorCommands.CommitUids(5, [1, 2], 0, T));
        Assert.Empty(events);
    }

    [Fact]
    public void Cursor_advances_over_committed_uids_only()
    {
        var c = Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(5, 1, T)));
        c = Run(c, c.Decide(new CursorCommands.CommitUids(5, [1, 2, 4], 0, T)));
        Assert.Equal(3u, c.LowestPending);
        Assert.True(c.IsCommitted(4));
        Assert.False(c.IsCommitted(3));
    }

    [Fact]
    public void Recommitting_the_same_uids_makes_no_event()
    {
        var c = Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(5, 1, T)));
        c = Run(c, c.Decide(new CursorCommands.CommitUids(5, [1, 2], 0, T)));
        Assert.Empty(c.Decide(new CursorCommands.CommitUids(5, [1, 2], 0, T)));
    }

    [Fact]
    public void Results_fetched_under_an_old_uidvalidity_do_not_move_the_new_cursor()
    {
        var c = Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(5, 1, T)));
        c = Run(c, c.Decide(new CursorCommands.ObserveUidValidity(6, T)));
        Assert.Empty(c.Decide(new CursorCommands.CommitUids(5, [1], 0, T)));
        Assert.Equal(6u, c.UidValidity);
        Assert.Equal(1u, c.LowestPending);
    }

    [Fact]
    public void A_uidvalidity_change_resets_the_floor_and_the_committed_uids()
    {
        var c = Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(5, 900, T)));
        c = Run(c, c.Decide(new CursorCommands.CommitUids(5, Enumerable.Range(900, 101).Select(i => (uint)i).ToArray(), 0, T)));
        var events = c.Decide(new CursorCommands.ObserveUidValidity(77, T));
        var changed = Assert.IsType<CursorEvents.UidValidityChanged>(Assert.Single(events));
        Assert.Equal(5u, changed.Previous);
        c = Run(c, events);
        Assert.Equal(1u, c.Floor);
        Assert.True(c.Committed.IsEmpty);
        Assert.Empty(c.Decide(new CursorCommands.ObserveUidValidity(77, T)));
    }

    [Fact]
    public void Replaying_events_rebuilds_the_same_state()
    {
        var c = MailboxCursor.Initial;
        var journal = new List<ICursorEvent>();
        void Do(IReadOnlyList<ICursorEvent> events)
        {
            journal.AddRange(events);
            c = Run(c, events);
        }

        Do(c.Decide(new CursorCommands.StartFirstPoll(5, 1, T)));
        Do(c.Decide(new CursorCommands.CommitUids(5, [1, 2, 3], 1, T)));
        Do(c.Decide(new CursorCommands.CommitUids(5, [7], 0, T)));
        Assert.Equal(c, Run(MailboxCursor.Initial, journal));
        Assert.Equal(1, c.QuarantinedTotal);
    }
}

public class PollPlannerTests
{
    private static MailboxCursor Started(uint floor, params uint[] committed) =>
        new(5, true, floor, UidSet.Of(committed), 0);

    [Fact]
    public void Oldest_first_takes_the_lowest_pending()
    {
        var chosen = PollPlanner.Choose(Started(1, 1, 2), [1, 2, 3, 4, 5, 6], IngestManner.OldestFirst, 3);
        Assert.Equal([3u, 4u, 5u], chosen);
    }

    [Fact]
    public void Latest_first_takes_new_mail_before_older_backlog()
    {
        // 10..12 are committed; 1..9 wait as backlog and 13..15 are new: new mail comes first, newest first.
        var chosen = PollPlanner.Choose(Started(1, 10, 11, 12), Enumerable.Range(1, 15).Select(i => (uint)i), IngestManner.LatestFirst, 4);
        Assert.Equal([15u, 14u, 13u, 9u], chosen);
    }

    [Fact]
    public void Latest_first_leaves_nothing_behind_over_successive_polls()
    {
        var server = Enumerable.Range(1, 25).Select(i => (uint)i).ToArray();
        var cursor = Started(1);
        var seen = new List<uint>();
        for (var poll = 0; poll < 10; poll++)
        {
            var chosen = PollPlanner.Choose(cursor, server, IngestManner.LatestFirst, 7);
            seen.AddRange(chosen);
            cursor = cursor with { Committed = cursor.Committed.AddRange(chosen) };
        }

        Assert.Equal(server, seen.Order());
    }

    [Fact]
    public void Zero_max_emails_takes_nothing_in_either_manner()
    {
        Assert.Empty(PollPlanner.Choose(Started(1), [1, 2, 3], IngestManner.LatestFirst, 0));
        Assert.Empty(PollPlanner.Choose(Started(1), [1, 2, 3], IngestManner.OldestFirst, 0));
    }

    [Fact]
    public void Uids_below_the_floor_are_never_chosen()
    {
        Assert.Equal([6u, 5u], PollPlanner.Choose(Started(5), [1, 2, 3, 4, 5, 6], IngestManner.LatestFirst, 10));
    }

    [Fact]
    public void First_poll_floor_keeps_the_newest_n_latest_first_and_everything_oldest_first()
    {
        uint[] server = [3, 5, 8, 13, 21];
        Assert.Equal(8u, PollPlanner.FirstPollFloor(server, IngestManner.LatestFirst, 3));
        Assert.Equal(1u, PollPlanner.FirstPollFloor(server, IngestManner.OldestFirst, 3));
        Assert.Equal(1u, PollPlanner.FirstPollFloor(server, IngestManner.LatestFirst, 10));
    }
}
