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
    /// <paramref name="Floor"/> are left out on purpose (latest first with <c>first_run_max_emails</c>).
    /// </summary>
    public sealed record FirstPollStarted(uint UidValidity, uint Floor, DateTimeOffset At) : ICursorEvent;

    /// <summary>These UIDs are committed to the store, or quarantined: the cursor is past them.</summary>
    public sealed record UidsCommitted(uint UidValidity, IReadOnlyList<UidRange> Ranges, int Quarantined, DateTimeOffset At) : ICursorEvent;

    /// <summary>
    /// The server reported a new UIDVALIDITY: every UID is new again and the whole folder is rescanned (content already
    /// ingested is recognised by the sink, not duplicated).
    /// </summary>
    public sealed record UidValidityChanged(uint Previous, uint Current, DateTimeOffset At) : ICursorEvent;
}

/// <summary>Commands the cursor decides on.</summary>
public static class CursorCommands
{
    /// <summary>The server's UIDVALIDITY as seen by EXAMINE.</summary>
    public sealed record ObserveUidValidity(uint UidValidity, DateTimeOffset At);

    /// <summary>Start the first poll under a UIDVALIDITY, leaving out UIDs below <paramref name="Floor"/>.</summary>
    public sealed record StartFirstPoll(uint UidValidity, uint Floor, DateTimeOffset At);

    /// <summary>Record UIDs as done.</summary>
    public sealed record CommitUids(uint UidValidity, IReadOnlyCollection<uint> Uids, int Quarantined, DateTimeOffset At);
}

/// <summary>
/// A mailbox's poll cursor: which UIDVALIDITY it speaks of, the floor below which UIDs are out of scope, and the UIDs
/// already committed. Pure: <see cref="Decide(CursorCommands.CommitUids)"/> turns a command into events, <see cref="Apply"/>
/// turns an event into the next state; replaying the journal rebuilds the state exactly.
/// </summary>
public sealed record MailboxCursor(uint UidValidity, bool Started, uint Floor, UidSet Committed, long QuarantinedTotal)
{
    public static MailboxCursor Initial { get; } = new(0, false, 1, UidSet.Empty, 0);

    /// <summary>The lowest UID that may still need ingesting.</summary>
    public uint LowestPending => Committed.FirstMissingFrom(Math.Max(Floor, 1));

    public bool IsCommitted(uint uid) => uid < Floor || Committed.Contains(uid);

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

        return [new CursorEvents.FirstPollStarted(command.UidValidity, Math.Max(1, command.Floor), command.At)];
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

    public MailboxCursor Apply(ICursorEvent @event) => @event switch
    {
        CursorEvents.FirstPollStarted e => new MailboxCursor(e.UidValidity, true, e.Floor, UidSet.Empty, QuarantinedTotal),
        CursorEvents.UidsCommitted e when e.UidValidity == UidValidity =>
            this with { Committed = e.Ranges.Aggregate(Committed, (set, r) => set.Add(r)), QuarantinedTotal = QuarantinedTotal + e.Quarantined },
        CursorEvents.UidsCommitted => this,
        CursorEvents.UidValidityChanged e => new MailboxCursor(e.Current, true, 1, UidSet.Empty, QuarantinedTotal),
        _ => throw new ArgumentException($"Unknown cursor event {@event.GetType().Name}", nameof(@event)),
    };
}

/// <summary>A snapshot of a mailbox's cursor.</summary>
public sealed record CursorSnapshot(MailboxCursor Cursor);
