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

/// <summary>The searched-through mark: what a search settles, and how the mark moves and resets.</summary>
public class SearchedThroughTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static MailboxCursor Run(MailboxCursor cursor, IEnumerable<ICursorEvent> events) =>
        events.Aggregate(cursor, (c, e) => c.Apply(e));

    private static uint[] Uids(uint first, uint last) => Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (uint)i).ToArray();

    [Fact]
    public void Pending_counts_the_found_uids_not_committed_above_the_floor_and_the_settled_mark()
    {
        var c = Started(10, 10, 11, 14) with { SearchedThrough = 11 };
        var found = UidSet.Of([3, 9, 10, 11, 12, 13, 14, 15]);

        // 3 and 9 are below the floor, 10 and 11 settled, 14 committed: 12, 13 and 15 remain.
        Assert.Equal(3, c.PendingIn(found));
        Assert.Equal(2, c.PendingIn(found, from: 13));
        Assert.Equal(0, c.PendingIn(UidSet.Empty));
        Assert.Equal(1, Started(1).PendingIn(UidSet.Of([uint.MaxValue])));
    }

    /// <summary>A cursor under UIDVALIDITY 5 with a first poll started at <paramref name="floor"/> and these UIDs committed.</summary>
    private static MailboxCursor Started(uint floor = 1, params uint[] committed)
    {
        var c = Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(5, floor, T)));
        return Run(c, c.Decide(new CursorCommands.CommitUids(5, committed, 0, T)));
    }

    private static CursorCommands.RecordSearch Search(uint from, uint through, params uint[] found) =>
        new(5, from, through, UidSet.Of(found), T);

    [Fact]
    public void A_search_whose_finds_are_all_committed_settles_its_holes_up_to_its_top()
    {
        // 1..2000 with 500..1400 expunged: every UID found is committed, so the hole is settled with the rest.
        var present = Uids(1, 499).Concat(Uids(1401, 2000)).ToArray();
        var c = Started(1, present);
        Assert.Equal(500u, c.LowestPending);

        var searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(500, 2000, Uids(1401, 2000)))));
        Assert.Equal((5u, 2000u, T), (searched.UidValidity, searched.Through, searched.At));
        c = c.Apply(searched);
        Assert.Equal(2000u, c.SearchedThrough);
        Assert.Equal(2001u, c.LowestPending);
        Assert.True(c.IsCommitted(900));
    }

    [Fact]
    public void The_mark_stops_just_below_the_lowest_found_uid_not_committed()
    {
        // max_emails took 1..3 of 1, 2, 3, 7, 9 (4..6 and 8 are holes): 7 is still pending.
        var c = Started(1, 1, 2, 3);
        var searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(1, 20, 1, 2, 3, 7, 9))));
        Assert.Equal(6u, searched.Through);
        c = c.Apply(searched);
        Assert.Equal(7u, c.LowestPending);
        Assert.False(c.IsCommitted(7));
        Assert.False(c.IsCommitted(8));
    }

    [Fact]
    public void A_pending_find_above_the_searched_span_does_not_hold_the_mark()
    {
        var c = Started(1, 1, 2);
        var searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(3, 10, 1, 2, 15))));
        Assert.Equal(10u, searched.Through);
    }

    [Fact]
    public void A_search_that_begins_above_the_lowest_pending_uid_settles_nothing()
    {
        // 3..9 were never searched in this span: a latest-first poll that stopped at max_emails before reaching them.
        var c = Started(1, 1, 2);
        Assert.Equal(3u, c.LowestPending);
        Assert.Empty(c.Decide(Search(10, 20)));
        Assert.Single(c.Decide(Search(3, 20)));
    }

    [Fact]
    public void A_search_may_begin_anywhere_in_the_committed_run_above_the_mark()
    {
        // 1..5 are committed: a search from 4 leaves nothing unknown below it.
        var c = Started(1, 1, 2, 3, 4, 5);
        var searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(4, 9, 4, 5))));
        Assert.Equal(9u, searched.Through);
    }

    [Fact]
    public void The_mark_never_moves_back_and_an_equal_mark_makes_no_event()
    {
        var c = Started(1, 1, 2, 3);
        c = Run(c, c.Decide(Search(1, 10, 1, 2, 3)));
        Assert.Equal(10u, c.SearchedThrough);
        Assert.Empty(c.Decide(Search(11, 10)));
        Assert.Empty(c.Decide(Search(11, 11, 11)));

        // An event with a lower mark (a journal replayed out of order cannot hold one, but Apply must not lose ground).
        Assert.Equal(10u, c.Apply(new CursorEvents.FolderSearched(5, 4, T)).SearchedThrough);
    }

    [Fact]
    public void Searches_before_a_first_poll_or_under_another_uidvalidity_settle_nothing()
    {
        Assert.Empty(MailboxCursor.Initial.Decide(Search(1, 10)));
        Assert.Empty(MailboxCursor.Initial.Decide(new CursorCommands.RecordSearch(MailboxCursor.Initial.UidValidity, 1, 10, UidSet.Empty, T)));
        Assert.Empty(Started().Decide(new CursorCommands.RecordSearch(6, 1, 10, UidSet.Empty, T)));
        Assert.Equal(0u, Started().Apply(new CursorEvents.FolderSearched(6, 10, T)).SearchedThrough);
        Assert.Equal(0u, MailboxCursor.Initial.Apply(new CursorEvents.FolderSearched(0, 10, T)).SearchedThrough);
    }

    [Fact]
    public void Uids_below_the_floor_found_by_a_search_do_not_hold_the_mark()
    {
        // Latest first with first_run_max_emails: the first poll's windows also found 1..7, which are out of scope.
        var c = Started(8, 8, 9, 10);
        var searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(1, 10, Uids(1, 10)))));
        Assert.Equal(10u, searched.Through);

        // In scope and not committed, 10 holds the mark even when it sits in one run with the UIDs below the floor.
        c = Started(8, 8, 9);
        searched = Assert.IsType<CursorEvents.FolderSearched>(Assert.Single(c.Decide(Search(1, 10, Uids(1, 10)))));
        Assert.Equal(9u, searched.Through);
    }

    [Fact]
    public void The_floor_still_bounds_the_lowest_pending_uid_when_the_mark_is_below_it()
    {
        var c = Started(8) with { SearchedThrough = 3 };
        Assert.Equal(8u, c.LowestPending);
        Assert.True(c.IsCommitted(5));
    }

    [Fact]
    public void Committed_uids_right_above_the_mark_are_skipped_too()
    {
        var c = Started(1, 11, 12, 14) with { SearchedThrough = 10 };
        Assert.Equal(13u, c.LowestPending);
        Assert.True(c.IsCommitted(10));
        Assert.False(c.IsCommitted(13));
        Assert.True(c.IsCommitted(14));
    }

    [Fact]
    public void The_highest_possible_mark_does_not_overflow()
    {
        var c = Started() with { SearchedThrough = uint.MaxValue };
        Assert.Equal(uint.MaxValue, c.LowestPending);
        Assert.True(c.IsCommitted(uint.MaxValue));
        Assert.Empty(c.Decide(Search(uint.MaxValue, uint.MaxValue)));
    }

    [Fact]
    public void Commits_at_or_below_the_mark_make_no_event()
    {
        var c = Started() with { SearchedThrough = 10 };
        Assert.Empty(c.Decide(new CursorCommands.CommitUids(5, [3, 10], 0, T)));
        Assert.Single(c.Decide(new CursorCommands.CommitUids(5, [3, 11], 0, T)));
    }

    [Fact]
    public void A_uidvalidity_change_resets_the_mark()
    {
        var c = Started(1, 1, 2);
        c = Run(c, c.Decide(Search(1, 100, 1, 2)));
        Assert.Equal(100u, c.SearchedThrough);
        c = Run(c, c.Decide(new CursorCommands.ObserveUidValidity(6, T)));
        Assert.Equal(0u, c.SearchedThrough);
        Assert.Equal(1u, c.LowestPending);
        Assert.False(c.IsCommitted(50));
    }

    [Fact]
    public void A_new_first_poll_resets_the_mark()
    {
        var c = Started(1, 1, 2) with { SearchedThrough = 100 };
        c = c.Apply(new CursorEvents.FirstPollStarted(9, 1, T));
        Assert.Equal(0u, c.SearchedThrough);
    }

    [Fact]
    public void Replaying_a_journal_with_searches_rebuilds_the_same_mark()
    {
        var c = MailboxCursor.Initial;
        var journal = new List<ICursorEvent>();
        void Do(IReadOnlyList<ICursorEvent> events)
        {
            journal.AddRange(events);
            c = Run(c, events);
        }

        Do(c.Decide(new CursorCommands.StartFirstPoll(5, 1, T)));
        Do(c.Decide(new CursorCommands.CommitUids(5, [1, 2, 3], 0, T)));
        Do(c.Decide(Search(1, 50, 1, 2, 3, 40)));
        Do(c.Decide(new CursorCommands.CommitUids(5, [40], 0, T)));
        Do(c.Decide(Search(4, 60, 40)));
        Assert.Equal(60u, c.SearchedThrough);
        Assert.Equal(c, Run(MailboxCursor.Initial, journal));
    }
}

/// <summary>The first run's floor (latest first) across a UIDVALIDITY change: placed again by its email's date.</summary>
public class FloorByDateTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Received = new(2026, 10, 1, 8, 30, 0, TimeSpan.Zero);

    private static MailboxCursor Run(MailboxCursor cursor, IEnumerable<ICursorEvent> events) =>
        events.Aggregate(cursor, (c, e) => c.Apply(e));

    private static MailboxCursor FirstRun(uint floor, DateTimeOffset? date) =>
        Run(MailboxCursor.Initial, MailboxCursor.Initial.Decide(new CursorCommands.StartFirstPoll(7, floor, T, date)));

    [Fact]
    public void A_first_run_floor_keeps_its_date_and_a_uidvalidity_change_waits_to_place_it_again()
    {
        var cursor = FirstRun(901, Received);
        Assert.Equal((901u, (DateTimeOffset?)Received), (cursor.Floor, cursor.FloorDate));

        cursor = Run(cursor, cursor.Decide(new CursorCommands.ObserveUidValidity(8, T)));
        Assert.True(cursor.NeedsFloorByDate);
        Assert.Equal((0u, 1u), (cursor.Floor, cursor.LowestPending));
        Assert.False(cursor.IsCommitted(1));
    }

    [Fact]
    public void Placing_the_floor_under_the_new_uidvalidity_leaves_the_older_uids_out_once()
    {
        var cursor = FirstRun(901, Received);
        cursor = Run(cursor, cursor.Decide(new CursorCommands.ObserveUidValidity(8, T)));

        Assert.Empty(cursor.Decide(new CursorCommands.PlaceFloor(7, 40, T)));
        cursor = Run(cursor, cursor.Decide(new CursorCommands.PlaceFloor(8, 40, T)));
        Assert.Equal((40u, false), (cursor.Floor, cursor.NeedsFloorByDate));
        Assert.True(cursor.IsCommitted(39));
        Assert.Equal(40u, cursor.LowestPending);
        Assert.Empty(cursor.Decide(new CursorCommands.PlaceFloor(8, 50, T)));

        // And again at the next change: the date is kept.
        cursor = Run(cursor, cursor.Decide(new CursorCommands.ObserveUidValidity(9, T)));
        Assert.True(cursor.NeedsFloorByDate);
    }

    [Fact]
    public void Without_a_first_run_floor_a_uidvalidity_change_rescans_from_uid_1()
    {
        foreach (var cursor in new[] { FirstRun(1, Received), FirstRun(1, null), FirstRun(901, null) })
        {
            var changed = Run(cursor, cursor.Decide(new CursorCommands.ObserveUidValidity(8, T)));
            Assert.False(changed.NeedsFloorByDate);
            Assert.Equal(1u, changed.Floor);
            Assert.Empty(changed.Decide(new CursorCommands.PlaceFloor(8, 40, T)));
        }
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
    public void Uids_at_or_below_the_searched_through_mark_are_never_chosen()
    {
        var cursor = Started(1) with { SearchedThrough = 4 };
        Assert.Equal([5u, 6u], PollPlanner.Choose(cursor, [1, 2, 3, 4, 5, 6], IngestManner.OldestFirst, 10));
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
