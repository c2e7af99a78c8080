namespace ImapActors.Ingestion.Cursor;

/// <summary>Events of a mailbox's poll cursor. They are persisted; they stay small and never hold an email.</summary>
public interface ICursorEvent
{
    DateTimeOffset At { get; }
}

/// <summary>Cursor events, nested as the mailbox actor's journal speaks them.</summary>
public static class CursorEvents
{
    /// <summary>
    /// The mailbox was polled for the first time under <paramref name="UidValidity"/>. UIDs below
    /// <paramref name="Floor"/> are left out on purpose (latest first with <c>first_run_max_emails</c>);
    /// <paramref name="FloorDate"/> is the INTERNALDATE of the floor's email, which places the floor again after a
    /// UIDVALIDITY change renumbers the folder.
    /// </summary>
    public sealed record FirstPollStarted(uint UidValidity, uint Floor, DateTimeOffset At, DateTimeOffset? FloorDate = null) : ICursorEvent;

    /// <summary>
    /// After a UIDVALIDITY change, the first-run floor is placed again under <paramref name="UidValidity"/>: at the
    /// lowest UID whose INTERNALDATE is not older than the floor's date.
    /// </summary>
    public sealed record FloorPlaced(uint UidValidity, uint Floor, DateTimeOffset At) : ICursorEvent;

    /// <summary>These UIDs are committed to the store, or quarantined: the cursor is past them.</summary>
    public sealed record UidsCommitted(uint UidValidity, IReadOnlyList<UidRange> Ranges, int Quarantined, DateTimeOffset At) : ICursorEvent;

    /// <summary>
    /// The server reported a new UIDVALIDITY: every UID is new again and the whole folder is rescanned (content already
    /// ingested is recognised by the sink, not duplicated).
    /// </summary>
    public sealed record UidValidityChanged(uint Previous, uint Current, DateTimeOffset At) : ICursorEvent;

    /// <summary>
    /// The folder is settled up to <paramref name="Through"/> under <paramref name="UidValidity"/>: it was searched that
    /// far and every UID the search found there is committed, quarantined or gone, so no UID at or below it needs
    /// searching again (holes of expunged or never used UIDs included: the server never hands out a UID twice).
    /// </summary>
    public sealed record FolderSearched(uint UidValidity, uint Through, DateTimeOffset At) : ICursorEvent;
}

/// <summary>Commands the cursor decides on.</summary>
public static class CursorCommands
{
    /// <summary>The server's UIDVALIDITY as seen by EXAMINE.</summary>
    public sealed record ObserveUidValidity(uint UidValidity, DateTimeOffset At);

    /// <summary>Start the first poll under a UIDVALIDITY, leaving out UIDs below <paramref name="Floor"/> (whose email dates <paramref name="FloorDate"/>).</summary>
    public sealed record StartFirstPoll(uint UidValidity, uint Floor, DateTimeOffset At, DateTimeOffset? FloorDate = null);

    /// <summary>Place the first-run floor again after a UIDVALIDITY change (see <see cref="MailboxCursor.NeedsFloorByDate"/>).</summary>
    public sealed record PlaceFloor(uint UidValidity, uint Floor, DateTimeOffset At);

    /// <summary>Record UIDs as done.</summary>
    public sealed record CommitUids(uint UidValidity, IReadOnlyCollection<uint> Uids, int Quarantined, DateTimeOffset At);

    /// <summary>
    /// A poll searched UIDs <paramref name="From"/> to <paramref name="Through"/> (all below the UIDNEXT its EXAMINE saw)
    /// and found <paramref name="Found"/> there; given once the poll's batches are done, so the cursor can tell which of
    /// them are settled.
    /// </summary>
    public sealed record RecordSearch(uint UidValidity, uint From, uint Through, UidSet Found, DateTimeOffset At);
}

/// <summary>
/// A mailbox's poll cursor: which UIDVALIDITY it speaks of, the floor below which UIDs are out of scope, the UIDs
/// already committed, and how far the folder is settled (<see cref="SearchedThrough"/>). Pure:
/// <see cref="Decide(CursorCommands.CommitUids)"/> turns a command into events, <see cref="Apply"/> turns an event into
/// the next state; replaying the journal rebuilds the state exactly.
/// </summary>
/// <param name="UidValidity">The folder's UIDVALIDITY the UIDs below speak of.</param>
/// <param name="Started">A first poll under <paramref name="UidValidity"/> has begun.</param>
/// <param name="Floor">UIDs below it are out of scope (latest first with <c>first_run_max_emails</c>); 1 otherwise.</param>
/// <param name="Committed">The UIDs committed to the store, quarantined, or found gone by their fetch.</param>
/// <param name="QuarantinedTotal">Emails quarantined over the cursor's life, across UIDVALIDITY changes.</param>
/// <param name="SearchedThrough">
/// The highest UID h such that the folder was searched up to h and every UID found at or below h is committed,
/// quarantined or gone; 0 before any such search. Committed UIDs alone cannot say that a missing UID is a hole (expunged
/// or never used) rather than mail still to take, so without this mark every poll would search again from the first hole.
/// </param>
/// <param name="FloorDate">
/// The INTERNALDATE of the first-run floor's email (latest first), kept across UIDVALIDITY changes: the new numbering's
/// floor is placed by it, so a renumbered folder does not ingest the history its first run left out. While a UIDVALIDITY
/// change waits for that, <paramref name="Floor"/> is 0.
/// </param>
public sealed record MailboxCursor(uint UidValidity, bool Started, uint Floor, UidSet Committed, long QuarantinedTotal,
    uint SearchedThrough = 0, DateTimeOffset? FloorDate = null)
{
    /// <summary>A UIDVALIDITY change renumbered the folder and the first-run floor is still to be placed by its date.</summary>
    public bool NeedsFloorByDate => Started && Floor == 0 && FloorDate is not null;

    public static MailboxCursor Initial { get; } = new(0, false, 1, UidSet.Empty, 0);

    /// <summary>
    /// The lowest UID that may still need ingesting: the first one above both the floor and <see cref="SearchedThrough"/>
    /// that is not committed. Polls search from here.
    /// </summary>
    public uint LowestPending => Committed.FirstMissingFrom(SettledBelow);

    /// <summary>
    /// How many of <paramref name="found"/> (a search's UIDs) still need ingesting, from <paramref name="from"/> on: the
    /// mailbox's lag as a poll knows it.
    /// </summary>
    public long PendingIn(UidSet found, uint from = 0)
    {
        ArgumentNullException.ThrowIfNull(found);
        long pending = 0;
        foreach (var range in found.Ranges)
        {
            for (var uid = Math.Max(range.First, Math.Max(from, SettledBelow)); uid <= range.Last && uid >= range.First; uid++)
            {
                if (!Committed.Contains(uid))
                {
                    pending++;
                }

                if (uid == uint.MaxValue)
                {
                    break;
                }
            }
        }

        return pending;
    }

    /// <summary>True when <paramref name="uid"/> needs no ingesting: below the floor, settled by a search, or committed.</summary>
    public bool IsCommitted(uint uid) => uid < Floor || uid <= SearchedThrough || Committed.Contains(uid);

    // Every UID below this one is out of scope or settled by a search.
    private uint SettledBelow => Math.Max(Math.Max(Floor, 1), SearchedThrough == uint.MaxValue ? uint.MaxValue : SearchedThrough + 1);

    public IReadOnlyList<ICursorEvent> Decide(CursorCommands.ObserveUidValidity command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!Started || command.UidValidity == UidValidity)
        {
            return [];
        }

        return [new CursorEvents.UidValidityChanged(UidValidity, command.UidValidity, command.At)];
    }

    public IReadOnlyList<ICursorEvent> Decide(CursorCommands.StartFirstPoll command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (Started && UidValidity == command.UidValidity)
        {
            return [];
        }

        var floor = Math.Max(1, command.Floor);
        return [new CursorEvents.FirstPollStarted(command.UidValidity, floor, command.At, floor > 1 ? command.FloorDate : null)];
    }

    public IReadOnlyList<ICursorEvent> Decide(CursorCommands.PlaceFloor command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return NeedsFloorByDate && command.UidValidity == UidValidity
            ? [new CursorEvents.FloorPlaced(UidValidity, Math.Max(1, command.Floor), command.At)]
            : [];
    }

    public IReadOnlyList<ICursorEvent> Decide(CursorCommands.CommitUids command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!Started || command.UidValidity != UidValidity)
        {
            // Results of a batch fetched under an older UIDVALIDITY: those UIDs mean other messages now.
            return [];
        }

        var fresh = command.Uids.Where(u => !IsCommitted(u)).ToArray();
        if (fresh.Length == 0)
        {
            return [];
        }

        return [new CursorEvents.UidsCommitted(UidValidity, UidSet.Of(fresh).Ranges, command.Quarantined, command.At)];
    }

    /// <summary>
    /// Moves <see cref="SearchedThrough"/> as far as the search allows: up to its top, but only over a span that begins
    /// where the cursor's knowledge ends (at or below <see cref="LowestPending"/>, so nothing between is unsearched), and
    /// only to just below the lowest UID the search found that is not committed yet (one a poll's <c>max_emails</c> left
    /// for later, or one whose batch has not settled). What the search did not find in that span does not exist, and never
    /// will: the span ends below the UIDNEXT the poll saw, and the server gives new mail UIDs at or above it.
    /// </summary>
    public IReadOnlyList<ICursorEvent> Decide(CursorCommands.RecordSearch command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!Started || command.UidValidity != UidValidity || command.From > LowestPending)
        {
            return [];
        }

        var through = FirstPendingIn(command.Found) is { } pending && pending <= command.Through ? pending - 1 : command.Through;
        return through > SearchedThrough ? [new CursorEvents.FolderSearched(UidValidity, through, command.At)] : [];
    }

    public MailboxCursor Apply(ICursorEvent @event) => @event switch
    {
        CursorEvents.FirstPollStarted e => new MailboxCursor(e.UidValidity, true, e.Floor, UidSet.Empty, QuarantinedTotal, 0, e.FloorDate),
        CursorEvents.UidsCommitted e when e.UidValidity == UidValidity =>
            this with { Committed = e.Ranges.Aggregate(Committed, (set, r) => set.Add(r)), QuarantinedTotal = QuarantinedTotal + e.Quarantined },
        CursorEvents.UidsCommitted => this,
        CursorEvents.UidValidityChanged e => new MailboxCursor(e.Current, true, FloorDate is null ? 1u : 0u, UidSet.Empty, QuarantinedTotal, 0, FloorDate),
        CursorEvents.FloorPlaced e when NeedsFloorByDate && e.UidValidity == UidValidity => this with { Floor = e.Floor },
        CursorEvents.FloorPlaced => this,
        CursorEvents.FolderSearched e when Started && e.UidValidity == UidValidity =>
            this with { SearchedThrough = Math.Max(SearchedThrough, e.Through) },
        CursorEvents.FolderSearched => this,
        _ => throw new ArgumentException($"Unknown cursor event {@event.GetType().Name}", nameof(@event)),
    };

    /// <summary>The lowest UID of <paramref name="uids"/> that still needs ingesting, if any.</summary>
    private uint? FirstPendingIn(UidSet uids)
    {
        foreach (var range in uids.Ranges)
        {
            if (range.Last < SettledBelow)
            {
                continue;
            }

            var candidate = Committed.FirstMissingFrom(Math.Max(range.First, SettledBelow));
            if (candidate <= range.Last && !IsCommitted(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>A snapshot of a mailbox's cursor.</summary>
public sealed record CursorSnapshot(MailboxCursor Cursor);
