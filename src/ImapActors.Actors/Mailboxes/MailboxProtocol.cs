using Akka.Actor;
using Akka.Event;
using ImapActors.Ingestion.Cursor;
using ImapActors.Domain;

namespace ImapActors.Actors.Mailboxes;

/// <summary>A message addressed to one mailbox actor by its stable id (local routing today, cluster sharding unchanged).</summary>
public interface IMailboxCommand
{
    MailboxId Mailbox { get; }
}

/// <summary>Commands and queries a mailbox actor accepts.</summary>
public static class MailboxCommands
{
    /// <summary>Poll now instead of waiting for the interval.</summary>
    public sealed record PollMailbox(MailboxId Mailbox) : IMailboxCommand;

    /// <summary>Take no new batch, finish and commit the batches in flight, then stop.</summary>
    public sealed record StopGracefully(MailboxId Mailbox) : IMailboxCommand;

    /// <summary>Asks for the cursor; answered with <see cref="CursorState"/>.</summary>
    public sealed record GetCursor(MailboxId Mailbox) : IMailboxCommand;

    public sealed record CursorState(MailboxId Mailbox, MailboxCursor Cursor);
}

/// <summary>What mailbox actors tell the ingestion supervisor.</summary>
public static class MailboxReports
{
    /// <summary>Marker of the reports.</summary>
    public interface IMailboxReport
    {
        MailboxId Mailbox { get; }
    }

    /// <summary>A batch is committed and the cursor moved past it.</summary>
    public sealed record BatchDone(MailboxId Mailbox, int Fetched, long Bytes, int Created, int AlreadyIngested, int Reconciled,
        int Quarantined, int Gone) : IMailboxReport, IDeadLetterSuppression;

    /// <summary>
    /// A poll takes <paramref name="Chosen"/> UIDs of the <paramref name="Pending"/> its search found still to ingest
    /// (more when max_emails leaves some for the next poll); <paramref name="Committed"/> UIDs of this UIDVALIDITY are
    /// committed so far.
    /// </summary>
    public sealed record PollStarted(MailboxId Mailbox, uint UidValidity, int Chosen, bool FirstPoll, long Pending = 0, long Committed = 0)
        : IMailboxReport, IDeadLetterSuppression;

    /// <summary>With <c>--once</c>: nothing is left to ingest.</summary>
    public sealed record CaughtUp(MailboxId Mailbox) : IMailboxReport, IDeadLetterSuppression;

    /// <summary>A poll went through: planned, and every batch it took is settled.</summary>
    public sealed record PollSucceeded(MailboxId Mailbox, DateTimeOffset At) : IMailboxReport, IDeadLetterSuppression;

    /// <summary>
    /// The mailbox failed (<paramref name="Cause"/>, a code such as <c>AuthenticationFailed</c>) and starts again at
    /// <paramref name="NextAttempt"/>; <paramref name="FailuresInARow"/> counts the failures since its last successful poll.
    /// </summary>
    public sealed record Failed(MailboxId Mailbox, string Cause, string Message, bool Transient, DateTimeOffset NextAttempt, int FailuresInARow)
        : IMailboxReport, IDeadLetterSuppression;
}

/// <summary>Everything a mailbox actor needs, fixed for its lifetime.</summary>
public sealed record MailboxOptions(
    AssetSettings Asset,
    FolderName Folder,
    EngineSettings Engine,
    bool Once,
    IActorRef Parsers,
    IActorRef Sink,
    IActorRef ReportTo,
    Pipeline.IMailboxConnector Connector,
    string ParserVersion)
{
    public MailboxId Mailbox => new(Asset.Name, Folder);

    /// <summary>Batches fetched but not yet committed; two lets the next fetch overlap the current batch's processing.</summary>
    public int MaxBatchesInFlight { get; init; } = 2;

    public int SnapshotEvery { get; init; } = 200;

    /// <summary>UIDs per UID SEARCH window, so a huge folder never yields one huge response.</summary>
    public uint SearchWindow { get; init; } = 50_000;

    /// <summary>First delay before an email that failed a stage is tried again (doubled each attempt).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>An email with no answer from the pools by then counts as a failed attempt.</summary>
    public TimeSpan ItemTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The node-wide admission gate (<see cref="AdmissionGateActor"/>) asked for credit before each fetch; without one,
    /// only <see cref="MaxBatchesInFlight"/> bounds the mailbox.
    /// </summary>
    public IActorRef? Admission { get; init; }

    /// <summary>The asset's connection budget (<see cref="ConnectionBudgetActor"/>), asked before each connection; without one, the mailbox connects at will.</summary>
    public IActorRef? Connections { get; init; }
}

/// <summary>Timer messages a mailbox sends itself.</summary>
internal sealed class PollTick : INoSerializationVerificationNeeded
{
    public static PollTick Instance { get; } = new();
}

internal sealed record RetryItem(long BatchId, uint Uid) : INoSerializationVerificationNeeded;

internal sealed record ItemDeadline(long BatchId) : INoSerializationVerificationNeeded;

internal sealed record RetryCommit(long CommitId) : INoSerializationVerificationNeeded;

/// <summary>A poll's batches are all done: record what its search settled (<see cref="PollPlanned.SearchEvents"/>).</summary>
internal sealed record PollSettled(PollPlanned Plan) : INoSerializationVerificationNeeded;

/// <summary>A mailbox stops itself with this so its <see cref="MailboxSupervisor"/> starts it again after a backoff.</summary>
/// <param name="mailbox">The mailbox that failed.</param>
/// <param name="inner">What failed.</param>
/// <param name="code">The cause as a code, e.g. <c>AuthenticationFailed</c> or <c>ConnectionLost</c>.</param>
/// <param name="transient">Whether the failure may pass by itself; otherwise it needs a person and waits longer.</param>
public sealed class MailboxFailedException(MailboxId mailbox, Exception inner, string code, bool transient)
    : Exception($"Mailbox {mailbox} failed: {inner.Message}", inner)
{
    public MailboxId Mailbox { get; } = mailbox;

    public string Code { get; } = code;

    public bool Transient { get; } = transient;
}
