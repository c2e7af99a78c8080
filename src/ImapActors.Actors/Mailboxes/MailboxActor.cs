using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Ingestion.Cursor;
using ImapActors.Ingestion.Ledger;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// Polls one folder of one asset, and only routes: IMAP answers, pipeline outcomes and sink answers go to the cursor
/// (<see cref="MailboxCursor"/>) or the batch ledger (<see cref="BatchLedger"/>), whose effects become messages, timers
/// and persisted events. States: idle between polls (in IDLE on the kept connection when the server offers it, so new
/// mail starts a poll at once); planning (EXAMINE, UID SEARCH); polling, where each batch waits for
/// the admission gate's credit (awaiting credit), then is fetched (fetching); stopping, where batches in flight commit
/// and nothing new is fetched. The cursor moves past a batch once the sink has committed or quarantined every UID of
/// it, so a crash re-fetches at most the batches in flight, and the sink's idempotent key makes that change nothing.
/// Once a poll's batches are all done, the cursor records how far its search settled the folder, so the next poll
/// searches only above that.
/// </summary>
public sealed class MailboxActor : ReceivePersistentActor, IWithTimers
{
    private readonly MailboxOptions _options;
    private readonly MailboxImap _imap;
    private readonly Queue<PlannedEmail> _queue = new();
    private MailboxEffects _effects = null!;
    private MailboxRest _rest = null!;
    private MailboxCursor _cursor = MailboxCursor.Initial;
    private BatchLedger _ledger;

    // What the current state does once the ledger has moved; each state sets it.
    private Action _next = () => { };

    public MailboxActor(MailboxOptions options)
    {
        _options = options;
        _imap = new MailboxImap(options);
        _ledger = BatchLedger.Empty(new LedgerRules(options.Engine.PoisonMaxAttempts, options.RetryBackoff, options.ItemTimeout));
        PersistenceId = "mailbox-" + options.Mailbox.StableId;
        Recover<SnapshotOffer>(offer => _cursor = offer.Snapshot is CursorSnapshot s ? s.Cursor : _cursor);
        Recover<ICursorEvent>(e => _cursor = _cursor.Apply(e));
        Recover<RecoveryCompleted>(_ => Self.Tell(PollTick.Instance));
        Idle();
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        // The login runs while the journal replays; the first plan takes it.
        _effects = new MailboxEffects(_options, Self, Timers, Context.GetLogger(), _imap);
        _rest = new MailboxRest(_options, Self, _imap, _effects);
        if (_rest.MayLoginEarly)
        {
            _imap.LoginEarly();
        }

        base.PreStart();
    }

    protected override void PostStop()
    {
        foreach (var email in _ledger.Held)
        {
            email.Raw.Dispose();
        }

        _imap.Dispose();
        base.PostStop();
    }

    /// <summary>Between polls: the connection rests (<see cref="MailboxRest"/>) until a tick, a command or new mail brings the next.</summary>
    private void Idle()
    {
        _next = () => { };
        Command<PollTick>(_ => PlanIf(_rest.Wake()));
        Command<MailboxCommands.PollMailbox>(_ => PlanIf(_rest.Wake()));
        Command<ConnectionProtocol.Yield>(_ => _rest.Yield());
        Command<IdleEnded>(ended => PlanIf(_rest.Ended(ended)));
        Always();
    }

    private void PlanIf(bool due)
    {
        if (due)
        {
            Plan();
        }
    }

    private void Plan()
    {
        if (!_rest.MayPoll())
        {
            Become(AwaitingConnection);
            return;
        }

        _imap.PlanAsync(_cursor).PipeTo(Self);
        Become(Planning);
    }

    /// <summary>The asset's connections are all in use: the poll waits for one.</summary>
    private void AwaitingConnection()
    {
        _next = () => { };
        Command<ConnectionProtocol.Granted>(_ =>
        {
            _rest.Granted();
            Plan();
        });
        Always();
    }

    private void Planning()
    {
        _next = () => { };
        Command<PollPlanned>(plan =>
        {
            _imap.Adopt(plan.Connection);
            _effects.Planned(plan, _cursor);
            PersistAll(plan.CursorEvents(_cursor, DateTimeOffset.UtcNow), Applied);
            DeferAsync(plan, p =>
            {
                if (p.ValidityChanged)
                {
                    // The plan is made again from the reset cursor.
                    Plan();
                    return;
                }

                p.Emails.ToList().ForEach(_queue.Enqueue);
                Become(Polling);
                Pump();
            });
        });
        Always();
    }

    /// <summary>IMAP is idle and no credit is asked for: the next batch is asked for when a slot is free.</summary>
    private void Polling()
    {
        _next = Pump;
        Always();
    }

    private void Pump()
    {
        if (_queue.Count > 0 && _ledger.Batches.Count < _options.MaxBatchesInFlight)
        {
            _effects.RequestCredit([.. _queue.Take(_options.Engine.FetchBatchSize).Select(e => e.Size)]);
            Become(AwaitingCredit);
        }
        else if (_queue.Count == 0 && _ledger.IsEmpty)
        {
            PollCompleted();
        }
    }

    private void AwaitingCredit()
    {
        _next = () => { };
        Command<AdmissionProtocol.CreditGranted>(grant =>
        {
            var uids = Enumerable.Range(0, Math.Min(grant.Emails, _queue.Count)).Select(_ => _queue.Dequeue().Uid).ToList();
            Become(Fetching);
            Run(_ledger.Open(_cursor.UidValidity, uids));
        });
        Command<MailboxCommands.StopGracefully>(_ =>
        {
            _effects.CancelCredit();
            StopAfterBatches();
        });
        Always();
    }

    /// <summary>
    /// A batch is being fetched: in one fetch, or part by part after the server refused one (the ledger sends the parts,
    /// one at a time). A stop lets it finish, and its batch is still committed.
    /// </summary>
    private void Fetching()
    {
        _next = () =>
        {
            if (!_ledger.IsFetching)
            {
                Become(Polling);
                Pump();
            }
        };
        Command<IFetchAnswer>(Answered);
        Always();
    }

    private void Answered(IFetchAnswer answer) => Run(_effects.Answered(_ledger, answer, _cursor.UidValidity));

    /// <summary>Every UID the poll took is settled (<see cref="MailboxEffects.PollCompleted"/> records its search).</summary>
    private void PollCompleted()
    {
        Become(Idle);
        if (_effects.PollCompleted())
        {
            _rest.Begin();
        }
    }

    private void StopAfterBatches()
    {
        _effects.CutShort();
        _queue.Clear();
        Become(Stopping);
        _next();
    }

    /// <summary>
    /// Nothing new is fetched; a fetch still out and the batches in flight are committed, then the actor stops (a plan
    /// still out is left to <see cref="MailboxImap"/>, which closes its connection).
    /// </summary>
    private void Stopping()
    {
        _next = () =>
        {
            if (_ledger.IsEmpty)
            {
                Context.Stop(Self);
            }
        };
        Command<IFetchAnswer>(Answered);
        Command<MailboxCommands.StopGracefully>(_ => { });
        Command<Status.Failure>(failure =>
        {
            Context.GetLogger().Warning("Mailbox {Mailbox} stopped on a failure: {Error}", _options.Mailbox, _effects.Failed(failure).InnerException?.Message);
            Context.Stop(Self);
        });
        Always();
    }

    /// <summary>The handlers every state shares, after its own: outcomes go to the ledger, queries are answered.</summary>
    private void Always()
    {
        Command<SinkProtocol.EmailStaged>(m => Run(_ledger.Staged(m.Ticket, m.Uid)));
        Command<PipelineMessages.EmailFailed>(m => Run(_ledger.Failed(m.Item.Ticket, m.Item.Source.Uid, m.Item.Attempt, m.Stage, m.Error)));
        Command<RetryItem>(m => Run(_ledger.RetryDue(m.BatchId, m.Uid, DateTimeOffset.UtcNow)));
        Command<ItemDeadline>(m => Run(_ledger.DeadlineDue(m.BatchId, DateTimeOffset.UtcNow)));
        Command<SinkProtocol.BatchCommitted>(m => Run(_ledger.Committed(m.CommitId, MailboxEffects.Tally(m.Results))));
        Command<SinkProtocol.BatchFailed>(m => Run(_ledger.CommitFailed(m.CommitId, m.Error)));
        Command<RetryCommit>(m => Run(_ledger.CommitRetryDue(m.CommitId)));
        Command<SinkProtocol.EmailQuarantined>(m => Run(_ledger.Quarantined(m.Ticket, m.Uid)));
        Command<SinkProtocol.QuarantineFailed>(m =>
            throw new InvalidOperationException($"Quarantine of UID {m.Uid} of {_options.Mailbox} failed: {m.Error}"));
        Command<AdmissionProtocol.CreditGranted>(_ => _effects.CancelCredit());
        Command<IdleEnded>(ended => _imap.Ended(ended));
        Command<ConnectionProtocol.Granted>(_ => _rest.Granted());
        Command<ConnectionProtocol.Yield>(_ => { });
        Command<PollSettled>(m => PersistAll(m.Plan.SearchEvents(_cursor, DateTimeOffset.UtcNow), Applied));
        Command<MailboxCommands.GetCursor>(_ => Sender.Tell(new MailboxCommands.CursorState(_options.Mailbox, _cursor)));
        Command<MailboxCommands.StopGracefully>(_ => StopAfterBatches());
        Command<PollTick>(_ => { });
        Command<MailboxCommands.PollMailbox>(_ => { });

        // Its supervisor starts this mailbox again after a backoff; the cursor recovers and the batches in flight are fetched again.
        Command<Status.Failure>(failure =>
        {
            var failed = _effects.Failed(failure);
            _rest.Failed(failed);
            throw failed;
        });
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f =>
            Context.GetLogger().Warning(f.Cause, "Snapshot of {Mailbox} failed; the journal still holds every event", _options.Mailbox));
    }

    /// <summary>Takes the ledger's next state and carries out its effects in order; the cursor's moves are persisted here.</summary>
    private void Run(LedgerStep step)
    {
        _ledger = step.Ledger;
        foreach (var effect in step.Effects)
        {
            if (effect is LedgerEffects.AdvanceCursor a)
            {
                PersistAll(_cursor.Decide(new CursorCommands.CommitUids(a.UidValidity, a.Uids, a.Quarantined, DateTimeOffset.UtcNow)), Applied);
                DeferAsync(a.BatchId, id => Run(_ledger.CursorAdvanced(id)));
            }
            else
            {
                _effects.Carry(effect);
            }
        }

        _next();
    }

    private void Applied(ICursorEvent e)
    {
        _cursor = _cursor.Apply(e);
        if (LastSequenceNr % _options.SnapshotEvery == 0)
        {
            SaveSnapshot(new CursorSnapshot(_cursor));
        }
    }
}
