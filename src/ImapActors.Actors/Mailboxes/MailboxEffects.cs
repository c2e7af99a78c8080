using Akka.Actor;
using Akka.Event;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Ingestion.Cursor;
using ImapActors.Ingestion.Ledger;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// What a mailbox's ledger effects and reports become: messages to the pools, the sink, the admission gate and the
/// supervisor, timers, log lines. The mailbox actor persists the cursor's moves itself; everything else goes through here.
/// </summary>
internal sealed class MailboxEffects(MailboxOptions options, IActorRef self, ITimerScheduler timers, ILoggingAdapter log, MailboxImap imap)
{
    // UIDs the current poll took, and the previous poll (null before the first): --once reports caught up from them.
    private int _chosen;
    private int? _previousChosen;

    // The current poll took as many emails as a poll may: more may be waiting.
    private bool _full;

    // The plan of the poll under way: its search is recorded in the cursor once the poll's batches are done.
    private PollPlanned? _plan;

    private MailboxId Mailbox => options.Mailbox;

    /// <summary>Carries out one effect other than <see cref="LedgerEffects.AdvanceCursor"/>.</summary>
    public void Carry(ILedgerEffect effect)
    {
        switch (effect)
        {
            case LedgerEffects.Fetch f:
                imap.FetchAsync(f.BatchId, f.Uids, f.UidValidity).PipeTo(self);
                break;
            case LedgerEffects.SplitFetch s:
                log.Warning("The server refused to fetch UIDs {First}..{Last} ({Count}) of {Mailbox}: {Error}; fetching them in two halves",
                    s.Uids[0], s.Uids[^1], s.Uids.Count, Mailbox, s.Error);
                break;
            case LedgerEffects.Charge c:
                options.Admission?.Tell(new AdmissionProtocol.ChargeFetched(c.Bytes), self);
                break;
            case LedgerEffects.Parse p:
                options.Parsers.Tell(new PipelineMessages.ParseEmail(new WorkItem(p.BatchId, p.Email.Source, p.Email.Raw,
                    options.Asset.Extraction, options.Asset.Label, p.Attempt, self)), self);
                break;
            case LedgerEffects.ScheduleRetry r:
                log.Warning("UID {Uid} of {Mailbox} failed at {Stage} (attempt {Attempt}): {Error}; trying again in {Delay}",
                    r.Uid, Mailbox, r.Stage, r.FailedAttempt, r.Error, r.Delay);
                timers.StartSingleTimer(("retry", r.BatchId, r.Uid), new RetryItem(r.BatchId, r.Uid), r.Delay);
                break;
            case LedgerEffects.ScheduleDeadline d:
                timers.StartSingleTimer(("deadline", d.BatchId), new ItemDeadline(d.BatchId), d.Delay);
                break;
            case LedgerEffects.Commit c:
                options.Sink.Tell(new SinkProtocol.CommitStaged(c.CommitId, c.BatchId, c.Uids), self);
                break;
            case LedgerEffects.ScheduleCommitRetry r:
                log.Warning("Commit of {Count} emails of {Mailbox} failed (attempt {Attempt}): {Error}; trying again in {Delay}",
                    r.Count, Mailbox, r.FailedAttempt, r.Error, r.Delay);
                timers.StartSingleTimer(("commit", r.CommitId), new RetryCommit(r.CommitId), r.Delay);
                break;
            case LedgerEffects.Quarantine q:
                options.Sink.Tell(new SinkProtocol.QuarantineEmail(q.BatchId, q.Email.Source, q.Email.Raw, q.Stage, q.Error,
                    options.ParserVersion, q.Attempts), self);
                break;
            case LedgerEffects.QuarantineUnserved u:
                options.Sink.Tell(new SinkProtocol.QuarantineEmail(u.BatchId, new EmailSource(options.Asset.Name, options.Folder, u.Uid,
                    u.UidValidity, null), null, BatchLedger.FetchStage, u.Error, options.ParserVersion, u.Attempts), self);
                break;
            case LedgerEffects.DiscardStaged d:
                options.Sink.Tell(new SinkProtocol.DiscardStaged(d.BatchId, d.Uids), self);
                break;
            case LedgerEffects.Settle s:
                options.Admission?.Tell(new AdmissionProtocol.ReleaseCredit(s.Uids.Count, s.Bytes), self);
                foreach (var email in s.Emails)
                {
                    email.Raw.Dispose();
                }

                break;
            case LedgerEffects.BatchDone d:
                options.ReportTo.Tell(new MailboxReports.BatchDone(Mailbox, d.Fetched, d.Bytes, d.Tally.Created, d.Tally.AlreadyIngested,
                    d.Tally.Reconciled, d.Quarantined, d.Gone), self);
                log.Debug("Mailbox {Mailbox} committed {Count} emails up to UID {Uid}", Mailbox, d.Fetched, d.HighestUid);
                break;
            default:
                throw new ArgumentException($"The mailbox carries out {effect.GetType().Name} itself", nameof(effect));
        }
    }

    /// <summary>Asks for credit for the next fetch, emails of these sizes; without a gate the mailbox grants itself what it asks.</summary>
    public void RequestCredit(IReadOnlyList<long> sizes)
    {
        if (options.Admission is { } gate)
        {
            gate.Tell(new AdmissionProtocol.RequestCredit(sizes), self);
        }
        else
        {
            self.Tell(new AdmissionProtocol.CreditGranted(sizes.Count));
        }
    }

    public void CancelCredit() => options.Admission?.Tell(AdmissionProtocol.CancelCredit.Instance, self);

    /// <summary>The plan is about to be acted on: say what it found.</summary>
    public void Planned(PollPlanned plan, MailboxCursor cursor)
    {
        if (plan.ValidityChanged)
        {
            log.Warning("UIDVALIDITY of {Mailbox} changed from {Previous} to {Current}: rescanning the folder; content already ingested is reconciled, not duplicated",
                Mailbox, cursor.UidValidity, plan.Status.UidValidity);
            return;
        }

        if (plan.PlacedFloor is { } placed)
        {
            log.Info("After the UIDVALIDITY change of {Mailbox} the first run's floor is UID {Floor}: emails received before {FloorDate:u} stay out, as in the first run",
                Mailbox, placed, cursor.FloorDate);
        }

        if (plan.FirstPoll && plan.Floor > 1)
        {
            log.Info("First poll of {Mailbox} takes the newest {Count} emails (first_run_max_emails); UIDs below {Floor} are left out",
                Mailbox, plan.Emails.Count, plan.Floor);
        }

        _plan = plan;
        _chosen = plan.Emails.Count;
        _full = _chosen > 0 && _chosen >= (plan.FirstPoll ? options.Asset.FirstRunMaxEmails : options.Asset.MaxEmails);
        if (plan.Emails.Count > 0)
        {
            log.Info("Poll of {Mailbox} (UIDVALIDITY {UidValidity}) takes {Count} emails", Mailbox, plan.Status.UidValidity, plan.Emails.Count);
        }

        // A first poll's floor is not in the cursor yet: the UIDs below it are left out, not pending.
        var pending = plan.Search is { } search
            ? Math.Max(cursor.PendingIn(search.Found, plan.FirstPoll ? plan.Floor : 0), plan.Emails.Count)
            : plan.Emails.Count;
        options.ReportTo.Tell(new MailboxReports.PollStarted(Mailbox, plan.Status.UidValidity, plan.Emails.Count, plan.FirstPoll, pending,
            cursor.Committed.Count), self);
    }

    /// <summary>
    /// The poll's batches are all done. The next poll is due after the interval, or at once when this one took all a
    /// poll may take (max_emails is emails per poll, not a rate); with <c>--once</c> at once while polls still find mail,
    /// and the first one finding nothing says the mailbox is caught up, later ones (poll now) stay quiet.
    /// </summary>
    /// <remarks>
    /// The cursor is to record how far the poll's search settled the folder, so the next poll searches only above that,
    /// never the holes again. This often runs inside a Defer callback, and a persist started there is never counted
    /// done (the actor would stash every later message), so the record is a message to self (<see cref="PollSettled"/>),
    /// persisted before the next poll's tick.
    /// </remarks>
    /// <returns>True when the next poll does not follow at once (the mailbox may rest its connection meanwhile).</returns>
    public bool PollCompleted()
    {
        if (_plan is { } settled)
        {
            _plan = null;
            self.Tell(new PollSettled(settled));
        }

        var previous = _previousChosen;
        _previousChosen = _chosen;
        options.ReportTo.Tell(new MailboxReports.PollSucceeded(Mailbox, DateTimeOffset.UtcNow), self);
        if (!options.Once)
        {
            if (_full)
            {
                self.Tell(PollTick.Instance);
                return false;
            }

            timers.StartSingleTimer("poll", PollTick.Instance, options.Asset.PollInterval);
            return true;
        }

        if (_chosen > 0)
        {
            self.Tell(PollTick.Instance);
        }
        else if (previous != 0)
        {
            options.ReportTo.Tell(new MailboxReports.CaughtUp(Mailbox), self);
        }

        return _chosen == 0;
    }

    /// <summary>The IDLE is over (<see cref="MailboxImap.Ended"/>); a connection lost while idle is said once, not as a failure.</summary>
    public IdleOutcome IdleEnded(IdleEnded ended)
    {
        if (ended.Lost)
        {
            log.Info("The connection of {Mailbox} was closed while idle ({Error}); connecting again", Mailbox, ended.Error);
        }

        return imap.Ended(ended);
    }

    /// <summary>The poll is cut short by a stop: it records no search, and the next start searches that span again.</summary>
    public void CutShort() => _plan = null;

    /// <summary>An IMAP failure, as the mailbox's supervisor reads it.</summary>
    public MailboxFailedException Failed(Status.Failure failure)
    {
        var (cause, code, transient) = imap.Describe(failure.Cause);
        return new MailboxFailedException(Mailbox, cause, code, transient);
    }

    /// <summary>
    /// A fetch's answer as the ledger takes it; the connection it carries is adopted (a new one when the server had ended
    /// the session, none when it ended it now). <paramref name="uidValidity"/> is for an answer the ledger no longer awaits.
    /// </summary>
    public LedgerStep Answered(BatchLedger ledger, IFetchAnswer answer, uint uidValidity)
    {
        imap.Adopt(answer.Connection);
        if (answer is BatchRefused refused)
        {
            return ledger.FetchRefused(refused.BatchId, refused.Refusal, DateTimeOffset.UtcNow);
        }

        var fetched = (BatchFetched)answer;
        uidValidity = ledger.Batches.TryGetValue(fetched.BatchId, out var batch) ? batch.UidValidity : uidValidity;
        var items = fetched.Emails
            .Select(e => new FetchedItem(new EmailSource(options.Asset.Name, options.Folder, e.Uid, uidValidity, e.InternalDate), e.Size, e.Raw))
            .ToList();
        return ledger.Fetched(fetched.BatchId, items, fetched.Omitted, DateTimeOffset.UtcNow);
    }

    public static CommitTally Tally(IReadOnlyList<CommitResult> results) => new(
        results.Count(r => r.Outcome == CommitOutcome.Created),
        results.Count(r => r.Outcome == CommitOutcome.AlreadyIngested),
        results.Count(r => r.Outcome == CommitOutcome.Reconciled));
}
