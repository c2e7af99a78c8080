using System.Collections.Immutable;
using ImapActors.Domain;

namespace ImapActors.Ingestion.Ledger;

/// <summary>The ledger's rules, fixed for a mailbox's lifetime.</summary>
/// <param name="MaxAttempts">Attempts at processing or committing an email before it is quarantined (<c>poison-max-attempts</c>).</param>
/// <param name="RetryBackoff">The wait after a first failed attempt; doubled after each further one.</param>
/// <param name="ItemTimeout">An email with no answer from the pipeline by then counts as a failed attempt.</param>
public sealed record LedgerRules(int MaxAttempts, TimeSpan RetryBackoff, TimeSpan ItemTimeout)
{
    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1-based): RetryBackoff × 2^(attempt − 1).</summary>
    public TimeSpan BackoffAfter(int attempt) => RetryBackoff * Math.Pow(2, attempt - 1);
}

/// <summary>One fetched email: where it came from, its RFC822.SIZE, and its raw bytes (the mailbox's to dispose).</summary>
public sealed record FetchedItem(EmailSource Source, long Size, RawEmail Raw)
{
    public uint Uid => Source.Uid;
}

/// <summary>How the store took the emails of one commit.</summary>
public sealed record CommitTally(int Created, int AlreadyIngested, int Reconciled);

/// <summary>Where one email of a batch is.</summary>
public enum ItemPhase
{
    /// <summary>Fetched while other UIDs of its batch are still being fetched; goes to the pipeline with the rest.</summary>
    Fetched,

    /// <summary>Sent to the pipeline; its answer (staged or failed) or its deadline is awaited.</summary>
    Processing,

    /// <summary>Failed an attempt; waits out its backoff.</summary>
    AwaitingRetry,

    /// <summary>Processed and staged in the sink, not yet part of a commit.</summary>
    Staged,

    /// <summary>Part of a commit the sink has not answered yet.</summary>
    Committing,

    /// <summary>Sent to quarantine; the sink's answer is awaited.</summary>
    Quarantining,

    /// <summary>Settled: in the store.</summary>
    Committed,

    /// <summary>Settled: in quarantine with its raw bytes.</summary>
    Quarantined,
}

/// <summary>One email of a batch and its attempts.</summary>
public sealed record LedgerItem(FetchedItem Email, int Attempt, ItemPhase Phase, DateTimeOffset Deadline)
{
    public bool IsSettled => Phase is ItemPhase.Committed or ItemPhase.Quarantined;

    public bool IsInPipeline => Phase is ItemPhase.Processing or ItemPhase.AwaitingRetry;
}

/// <summary>Where a batch is.</summary>
public enum BatchPhase
{
    /// <summary>Its UIDs are being fetched: in one fetch, or part by part after the server refused one.</summary>
    Fetching,

    /// <summary>Its emails are being processed, committed or quarantined.</summary>
    Open,

    /// <summary>Every UID is settled; the cursor's move past them is being persisted.</summary>
    Closing,
}

/// <summary>Where a fetch of part of a batch is.</summary>
public enum FetchPhase
{
    /// <summary>To be sent once no other fetch is out.</summary>
    Due,

    /// <summary>Sent; its answer is awaited.</summary>
    InFlight,

    /// <summary>The server would not serve its one UID; the fetch waits out its backoff.</summary>
    AwaitingRetry,
}

/// <summary>
/// UIDs of a batch still to be fetched in one command, and the attempt it is at. A batch starts as one part; a part the
/// server refuses is split in two until each refused UID is a part alone, whose attempts then count.
/// </summary>
public sealed record FetchPart(ImmutableArray<uint> Uids, int Attempt, FetchPhase Phase);

/// <summary>A UID the server would not serve (refused or left out of every answer): quarantined without raw bytes.</summary>
public sealed record UnservedUid(uint Uid, int Attempts, string Error, bool Quarantined);

/// <summary>
/// One batch: the UIDs one fetch asked for, what became of each, and the store's tally. <c>Gone</c> counts the UIDs the
/// server no longer had (expunged after the search: settled, nothing to ingest); <c>DeadlineAt</c> is when the pending
/// deadline check fires, if one is scheduled. While the batch is fetching, <c>ToFetch</c> holds the parts not answered
/// yet, in order; <c>Unserved</c> holds the UIDs the server would not serve after every attempt.
/// </summary>
public sealed record LedgerBatch(
    long Id,
    uint UidValidity,
    ImmutableArray<uint> Uids,
    BatchPhase Phase,
    ImmutableSortedDictionary<uint, LedgerItem> Items,
    int Gone,
    CommitTally Tally,
    int Quarantined,
    DateTimeOffset? DeadlineAt)
{
    public ImmutableList<FetchPart> ToFetch { get; init; } = [];

    public ImmutableSortedDictionary<uint, UnservedUid> Unserved { get; init; } = ImmutableSortedDictionary<uint, UnservedUid>.Empty;

    public long Bytes => Items.Values.Sum(i => i.Email.Size);

    /// <summary>Every UID is committed, quarantined or gone.</summary>
    public bool IsSettled => Phase != BatchPhase.Fetching && Items.Values.All(i => i.IsSettled) && Unserved.Values.All(u => u.Quarantined);
}

/// <summary>A commit the ledger asked the sink for, with its failed attempts so far.</summary>
public sealed record LedgerCommit(long Id, long BatchId, ImmutableArray<uint> Uids, int Attempts);

/// <summary>The ledger after an event, and what the mailbox must do about it, in order.</summary>
public sealed record LedgerStep(BatchLedger Ledger, IReadOnlyList<ILedgerEffect> Effects);

/// <summary>Something the ledger asks its mailbox to do: a message to send, a timer to start, an event to persist.</summary>
public interface ILedgerEffect;

/// <summary>The ledger's effects.</summary>
public static class LedgerEffects
{
    /// <summary>
    /// Fetch these UIDs of batch <paramref name="BatchId"/>, under <paramref name="UidValidity"/> (a new connection must
    /// find the folder's unchanged); answered with <see cref="BatchLedger.Fetched(long, IReadOnlyList{FetchedItem}, IReadOnlyList{uint}, DateTimeOffset)"/>
    /// or <see cref="BatchLedger.FetchRefused"/>.
    /// </summary>
    public sealed record Fetch(long BatchId, IReadOnlyList<uint> Uids, uint UidValidity) : ILedgerEffect;

    /// <summary>The server refused the fetch of these UIDs: they are fetched again in two halves, at once.</summary>
    public sealed record SplitFetch(long BatchId, IReadOnlyList<uint> Uids, string Error) : ILedgerEffect;

    /// <summary>The batch's fetched emails hold this many bytes (charged to the admission gate).</summary>
    public sealed record Charge(long BatchId, long Bytes) : ILedgerEffect;

    /// <summary>Send the email to the parser pool as attempt <paramref name="Attempt"/>.</summary>
    public sealed record Parse(long BatchId, FetchedItem Email, int Attempt) : ILedgerEffect;

    /// <summary>Attempt <paramref name="FailedAttempt"/> failed: start a timer for the retry (<see cref="BatchLedger.RetryDue"/>).</summary>
    public sealed record ScheduleRetry(long BatchId, uint Uid, TimeSpan Delay, int FailedAttempt, string Stage, string Error) : ILedgerEffect;

    /// <summary>Start (or restart) the batch's deadline timer (<see cref="BatchLedger.DeadlineDue"/>).</summary>
    public sealed record ScheduleDeadline(long BatchId, TimeSpan Delay) : ILedgerEffect;

    /// <summary>Ask the sink to commit these staged UIDs of the batch in one transaction.</summary>
    public sealed record Commit(long CommitId, long BatchId, IReadOnlyList<uint> Uids) : ILedgerEffect;

    /// <summary>The commit failed: start a timer for its retry (<see cref="BatchLedger.CommitRetryDue"/>).</summary>
    public sealed record ScheduleCommitRetry(long CommitId, TimeSpan Delay, int FailedAttempt, int Count, string Error) : ILedgerEffect;

    /// <summary>Ask the sink to quarantine the email with its raw bytes.</summary>
    public sealed record Quarantine(long BatchId, FetchedItem Email, string Stage, string Error, int Attempts) : ILedgerEffect;

    /// <summary>
    /// Ask the sink to quarantine a UID the server would not serve, at stage <see cref="BatchLedger.FetchStage"/>, without
    /// raw bytes: <c>quarantine retry</c> fetches it from the server again.
    /// </summary>
    public sealed record QuarantineUnserved(long BatchId, uint Uid, uint UidValidity, string Error, int Attempts) : ILedgerEffect;

    /// <summary>The sink holds staged emails the ledger will never commit: drop them.</summary>
    public sealed record DiscardStaged(long BatchId, IReadOnlyList<uint> Uids) : ILedgerEffect;

    /// <summary>
    /// These UIDs are settled (or never were the batch's): give back their admission credit (one email per UID and
    /// <paramref name="Bytes"/>) and dispose the raw bytes of <paramref name="Emails"/>.
    /// </summary>
    public sealed record Settle(long BatchId, IReadOnlyList<uint> Uids, IReadOnlyList<FetchedItem> Emails, long Bytes) : ILedgerEffect;

    /// <summary>Every UID of the batch is settled: persist the cursor's move past them, then call <see cref="BatchLedger.CursorAdvanced"/>.</summary>
    public sealed record AdvanceCursor(long BatchId, uint UidValidity, IReadOnlyList<uint> Uids, int Quarantined) : ILedgerEffect;

    /// <summary>The batch is done and forgotten: report it.</summary>
    public sealed record BatchDone(long BatchId, int Fetched, long Bytes, CommitTally Tally, int Quarantined, int Gone, uint HighestUid)
        : ILedgerEffect;
}
