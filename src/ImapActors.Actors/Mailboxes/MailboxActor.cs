using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using ImapActors.Ingestion.Cursor;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// Polls one folder of one asset. The actor owns its IMAP connection and its event-sourced cursor; the CPU work goes to
/// the parser and extractor pools and the writes to the sink. The cursor moves only after the sink has committed (or
/// quarantined) every UID below it, so a crash at any moment re-fetches at most the batches in flight, and the sink's
/// idempotent key makes that re-delivery change nothing.
/// </summary>
public sealed class MailboxActor : ReceivePersistentActor, IWithTimers
{
    private readonly MailboxOptions _options;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Queue<uint> _queue = new();
    private readonly Dictionary<long, Batch> _batches = new();
    private readonly Dictionary<long, Commit> _commits = new();

    private MailboxCursor _cursor = MailboxCursor.Initial;
    private IMailboxConnection? _connection;

    // The login started when the actor starts, so that it runs while the journal replays; the first poll takes it.
    private Task<IMailboxConnection>? _connecting;
    private bool _imapBusy;
    private bool _polling;
    private bool _stopping;
    private bool _caughtUpReported;
    private int _chosenThisPoll;
    private long _nextId;

    public MailboxActor(MailboxOptions options)
    {
        _options = options;
        PersistenceId = "mailbox-" + options.Mailbox.StableId;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is CursorSnapshot snapshot)
            {
                _cursor = snapshot.Cursor;
            }
        });
        Recover<ICursorEvent>(e => _cursor = _cursor.Apply(e));
        Recover<RecoveryCompleted>(_ => Self.Tell(PollTick.Instance));

        Command<PollTick>(_ => StartPoll());
        Command<MailboxCommands.PollMailbox>(_ => StartPoll());
        Command<MailboxCommands.GetCursor>(_ => Sender.Tell(new MailboxCommands.CursorState(_options.Mailbox, _cursor)));
        Command<MailboxCommands.StopGracefully>(_ => BeginStop());
        Command<PollPlanned>(OnPollPlanned);
        Command<BatchFetched>(OnBatchFetched);
        Command<PipelineMessages.EmailProcessed>(OnEmailProcessed);
        Command<PipelineMessages.EmailFailed>(msg => OnEmailFailed(msg.Item, msg.Stage, msg.Error));
        Command<RetryItem>(OnRetryItem);
        Command<ItemTimeout>(OnItemTimeout);
        Command<SinkProtocol.BatchCommitted>(OnBatchCommitted);
        Command<SinkProtocol.BatchFailed>(OnCommitFailed);
        Command<RetryCommit>(msg => SendCommit(msg.CommitId));
        Command<SinkProtocol.EmailQuarantined>(OnEmailQuarantined);
        Command<SinkProtocol.QuarantineFailed>(msg =>
            throw new InvalidOperationException($"Quarantine of an email of {_options.Mailbox} failed: {msg.Error}"));
        Command<Status.Failure>(OnImapFailure);
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Snapshot of {Mailbox} failed; the journal still holds every event", _options.Mailbox));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private ExtractionSettings Extraction => _options.Asset.Extraction;

    protected override void PreStart()
    {
        try
        {
            _connecting = _options.Connector.ConnectAsync(_options.Asset, _options.Folder, _lifetime.Token);
        }
        catch (Exception ex)
        {
            // A connector that fails at once fails the first poll, as a failed login does, not the actor's start.
            _connecting = Task.FromException<IMailboxConnection>(ex);
        }

        base.PreStart();
    }

    protected override void PostStop()
    {
        _lifetime.Cancel();
        if (_connecting is { } connecting)
        {
            // A login no poll took: closed once it is made.
            _ = CloseQuietlyAsync(connecting);
            _connecting = null;
        }

        foreach (var batch in _batches.Values)
        {
            batch.DisposeRaw();
        }

        if (_connection is { } connection)
        {
            _ = CloseQuietlyAsync(Task.FromResult(connection));
        }

        _lifetime.Dispose();
        base.PostStop();
    }

    /// <summary>
    /// Closes a connection politely (LOGOUT) without holding up the stop; a login that failed, or a failure to close,
    /// loses nothing.
    /// </summary>
    private static async Task CloseQuietlyAsync(Task<IMailboxConnection> connection)
    {
        try
        {
            await (await connection.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Nothing to do: the connection is gone either way.
        }
    }

    private void StartPoll()
    {
        if (_polling || _stopping)
        {
            return;
        }

        _polling = true;
        _imapBusy = true;
        var connection = _connection;
        // Only the first poll finds the early login; by then no connection is kept yet.
        var connecting = _connecting;
        _connecting = null;
        var cursor = _cursor;
        var options = _options;
        PlanAsync(connection, connecting, cursor, options, _lifetime.Token).PipeTo(Self);
    }

    private static async Task<PollPlanned> PlanAsync(IMailboxConnection? connection, Task<IMailboxConnection>? connecting,
        MailboxCursor cursor, MailboxOptions options, CancellationToken cancellationToken)
    {
        connection ??= connecting is not null
            ? await connecting
            : await options.Connector.ConnectAsync(options.Asset, options.Folder, cancellationToken);
        try
        {
            var status = await connection.ExamineAsync(cancellationToken);
            var firstPoll = !cursor.Started || cursor.UidValidity != status.UidValidity;
            if (cursor.Started && cursor.UidValidity != status.UidValidity)
            {
                // The actor persists the change first and plans again from the reset cursor.
                return new PollPlanned(connection, status, [], FirstPoll: false, ValidityChanged: true, Floor: 1);
            }

            var manner = options.Asset.IngestManner;
            var limit = firstPoll ? options.Asset.FirstRunMaxEmails : options.Asset.MaxEmails;
            var chosen = await ChooseAsync(connection, cursor, status, manner, limit, options.SearchWindow, cancellationToken);
            var floor = firstPoll ? PollPlanner.FirstPollFloor(chosen, manner, limit) : 1u;
            return new PollPlanned(connection, status, chosen, firstPoll, ValidityChanged: false, floor);
        }
        catch (Exception ex)
        {
            throw new MailboxPollException(connection, ex);
        }
    }

    private static async Task<IReadOnlyList<uint>> ChooseAsync(IMailboxConnection connection, MailboxCursor cursor, FolderStatus status,
        IngestManner manner, int limit, uint window, CancellationToken cancellationToken)
    {
        var low = cursor.LowestPending;
        if (limit <= 0 || status.Count == 0)
        {
            return [];
        }

        var top = status.UidNext > 1 ? status.UidNext - 1 : uint.MaxValue;
        if (low > top)
        {
            return [];
        }

        var found = new List<uint>();
        if (manner == IngestManner.OldestFirst)
        {
            for (ulong a = low; a <= top && found.Count < limit; a += window)
            {
                var b = (uint)Math.Min(top, a + window - 1);
                var uids = await connection.SearchUidsAsync((uint)a, b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
            }
        }
        else
        {
            for (long b = top; b >= low && found.Count < limit; b -= window)
            {
                var a = (uint)Math.Max(low, b - window + 1);
                var uids = await connection.SearchUidsAsync(a, (uint)b, cancellationToken);
                found.AddRange(uids.Where(u => u >= a && u <= b && !cursor.IsCommitted(u)));
            }
        }

        return PollPlanner.Choose(cursor, found, manner, limit);
    }

    private void OnPollPlanned(PollPlanned plan)
    {
        _imapBusy = false;
        _connection = plan.Connection;
        if (_stopping)
        {
            _polling = false;
            if (_batches.Count == 0)
            {
                Context.Stop(Self);
            }

            return;
        }

        var now = DateTimeOffset.UtcNow;
        if (plan.ValidityChanged)
        {
            var events = _cursor.Decide(new CursorCommands.ObserveUidValidity(plan.Status.UidValidity, now));
            PersistAll(events, e =>
            {
                _log.Warning("UIDVALIDITY of {Mailbox} changed from {Previous} to {Current}: rescanning the folder; content already ingested is reconciled, not duplicated",
                    _options.Mailbox, _cursor.UidValidity, plan.Status.UidValidity);
                ApplyAndSnapshot(e);
            });
            DeferAsync(now, _ =>
            {
                _polling = false;
                StartPoll();
            });
            return;
        }

        if (plan.FirstPoll)
        {
            var events = _cursor.Decide(new CursorCommands.StartFirstPoll(plan.Status.UidValidity, plan.Floor, now));
            PersistAll(events, ApplyAndSnapshot);
            if (plan.Floor > 1)
            {
                _log.Info("First poll of {Mailbox} takes the newest {Count} emails (first_run_max_emails); UIDs below {Floor} are left out",
                    _options.Mailbox, plan.Uids.Count, plan.Floor);
            }
        }

        DeferAsync(now, _ => BeginPoll(plan));
    }

    private void BeginPoll(PollPlanned plan)
    {
        _chosenThisPoll = plan.Uids.Count;
        if (plan.Uids.Count > 0)
        {
            _caughtUpReported = false;
            _log.Info("Poll of {Mailbox} (UIDVALIDITY {UidValidity}) takes {Count} emails", _options.Mailbox, plan.Status.UidValidity, plan.Uids.Count);
        }

        _options.ReportTo.Tell(new MailboxReports.PollStarted(_options.Mailbox, plan.Status.UidValidity, plan.Uids.Count, plan.FirstPoll));
        foreach (var uid in plan.Uids)
        {
            _queue.Enqueue(uid);
        }

        Pump();
    }

    private void Pump()
    {
        while (!_imapBusy && !_stopping && _batches.Count < _options.MaxBatchesInFlight && _queue.Count > 0)
        {
            var uids = new List<uint>(_options.Engine.FetchBatchSize);
            while (uids.Count < _options.Engine.FetchBatchSize && _queue.Count > 0)
            {
                uids.Add(_queue.Dequeue());
            }

            var batch = new Batch(++_nextId, _cursor.UidValidity, uids);
            _batches.Add(batch.Id, batch);
            _imapBusy = true;
            var connection = _connection!;
            FetchAsync(connection, batch.Id, uids, _lifetime.Token).PipeTo(Self);
        }

        if (_polling && _queue.Count == 0 && _batches.Count == 0 && !_imapBusy)
        {
            PollCompleted();
        }
    }

    private static async Task<BatchFetched> FetchAsync(IMailboxConnection connection, long batchId, IReadOnlyList<uint> uids,
        CancellationToken cancellationToken)
    {
        try
        {
            var emails = await connection.FetchAsync(uids, cancellationToken);
            return new BatchFetched(batchId, emails);
        }
        catch (Exception ex)
        {
            throw new MailboxPollException(connection, ex);
        }
    }

    private void OnBatchFetched(BatchFetched fetched)
    {
        _imapBusy = false;
        if (!_batches.TryGetValue(fetched.BatchId, out var batch))
        {
            foreach (var email in fetched.Emails)
            {
                email.Raw.Dispose();
            }

            return;
        }

        var requested = batch.Uids.ToHashSet();
        foreach (var email in fetched.Emails)
        {
            if (!requested.Remove(email.Uid) || batch.Items.ContainsKey(email.Uid))
            {
                email.Raw.Dispose();
                continue;
            }

            batch.Bytes += email.Size;
            var source = new EmailSource(_options.Asset.Name, _options.Folder, email.Uid, batch.UidValidity, email.InternalDate);
            var item = new WorkItem(batch.Id, source, email.Raw, Extraction, _options.Asset.Label, 1, Self);
            batch.Items.Add(email.Uid, item);
            _options.Parsers.Tell(new PipelineMessages.ParseEmail(item));
        }

        // UIDs the server no longer has were expunged after the search: there is nothing left to ingest for them.
        batch.Gone = requested.Count;
        if (batch.Items.Count > 0)
        {
            Timers.StartSingleTimer(("timeout", batch.Id), new ItemTimeout(batch.Id), _options.ItemTimeout);
        }

        CheckBatch(batch);
        Pump();
    }

    private void OnEmailProcessed(PipelineMessages.EmailProcessed msg)
    {
        if (_batches.TryGetValue(msg.Item.Ticket, out var batch) && batch.IsOpen(msg.Item.Source.Uid))
        {
            batch.Done[msg.Item.Source.Uid] = new EmailToCommit(msg.Email, msg.RawEmail);
            CheckBatch(batch);
        }
    }

    private void OnEmailFailed(WorkItem item, string stage, string error)
    {
        if (!_batches.TryGetValue(item.Ticket, out var batch) || !batch.IsOpen(item.Source.Uid) || batch.Retrying.Contains(item.Source.Uid))
        {
            return;
        }

        var uid = item.Source.Uid;
        var attempts = batch.Items[uid].Attempt;
        if (attempts < _options.Engine.PoisonMaxAttempts)
        {
            var delay = _options.RetryBackoff * Math.Pow(2, attempts - 1);
            _log.Warning("UID {Uid} of {Mailbox} failed at {Stage} (attempt {Attempt}): {Error}; trying again after a backoff",
                uid, _options.Mailbox, stage, attempts, error);
            batch.Retrying.Add(uid);
            Timers.StartSingleTimer(("retry", batch.Id, uid), new RetryItem(batch.Id, uid), delay);
            return;
        }

        batch.Exhausted[uid] = (stage, error);
        CheckBatch(batch);
    }

    private void OnRetryItem(RetryItem retry)
    {
        if (!_batches.TryGetValue(retry.BatchId, out var batch) || !batch.IsOpen(retry.Uid))
        {
            return;
        }

        batch.Retrying.Remove(retry.Uid);
        var item = batch.Items[retry.Uid] with { Attempt = batch.Items[retry.Uid].Attempt + 1 };
        batch.Items[retry.Uid] = item;
        _options.Parsers.Tell(new PipelineMessages.ParseEmail(item));
        Timers.StartSingleTimer(("timeout", batch.Id), new ItemTimeout(batch.Id), _options.ItemTimeout);
    }

    private void OnItemTimeout(ItemTimeout timeout)
    {
        if (!_batches.TryGetValue(timeout.BatchId, out var batch))
        {
            return;
        }

        foreach (var uid in batch.Items.Keys.Where(u => batch.IsOpen(u) && !batch.Retrying.Contains(u)).ToArray())
        {
            OnEmailFailed(batch.Items[uid], "timeout", $"no answer from the pipeline within {_options.ItemTimeout}");
        }
    }

    private void CheckBatch(Batch batch)
    {
        if (batch.Finishing || batch.Items.Keys.Any(batch.IsOpen))
        {
            return;
        }

        batch.Finishing = true;
        Timers.Cancel(("timeout", batch.Id));
        if (batch.Done.Count > 0)
        {
            var commit = new Commit(++_nextId, batch.Id, batch.Done.Keys.Order().ToList());
            _commits.Add(commit.Id, commit);
            batch.Outstanding++;
            SendCommit(commit.Id);
        }

        foreach (var (uid, (stage, error)) in batch.Exhausted)
        {
            Quarantine(batch, uid, stage, error);
        }

        FinishIfDone(batch);
    }

    private void Quarantine(Batch batch, uint uid, string stage, string error)
    {
        var item = batch.Items[uid];
        batch.Outstanding++;
        _options.Sink.Tell(new SinkProtocol.QuarantineEmail(batch.Id, item.Source, item.Raw, stage, error, _options.ParserVersion, item.Attempt));
    }

    private void SendCommit(long commitId)
    {
        if (!_commits.TryGetValue(commitId, out var commit) || !_batches.TryGetValue(commit.BatchId, out var batch))
        {
            return;
        }

        _options.Sink.Tell(new SinkProtocol.CommitBatch(commit.Id, commit.Uids.Select(u => batch.Done[u]).ToList()));
    }

    private void OnBatchCommitted(SinkProtocol.BatchCommitted msg)
    {
        if (!_commits.Remove(msg.BatchId, out var commit) || !_batches.TryGetValue(commit.BatchId, out var batch))
        {
            return;
        }

        foreach (var result in msg.Results)
        {
            switch (result.Outcome)
            {
                case CommitOutcome.Created: batch.Created++; break;
                case CommitOutcome.AlreadyIngested: batch.Already++; break;
                case CommitOutcome.Reconciled: batch.Reconciled++; break;
            }
        }

        batch.Outstanding--;
        FinishIfDone(batch);
    }

    private void OnCommitFailed(SinkProtocol.BatchFailed msg)
    {
        if (!_commits.TryGetValue(msg.BatchId, out var commit) || !_batches.TryGetValue(commit.BatchId, out var batch))
        {
            return;
        }

        commit.Attempts++;
        if (commit.Attempts < _options.Engine.PoisonMaxAttempts)
        {
            var delay = _options.RetryBackoff * Math.Pow(2, commit.Attempts - 1);
            _log.Warning("Commit of {Count} emails of {Mailbox} failed (attempt {Attempt}): {Error}; trying again in {Delay}",
                commit.Uids.Count, _options.Mailbox, commit.Attempts, msg.Error, delay);
            Timers.StartSingleTimer(("commit", commit.Id), new RetryCommit(commit.Id), delay);
            return;
        }

        _commits.Remove(commit.Id);
        batch.Outstanding--;
        if (commit.Uids.Count > 1)
        {
            // One email may be what the store refuses: commit them one by one so only that one is quarantined.
            foreach (var uid in commit.Uids)
            {
                var single = new Commit(++_nextId, batch.Id, [uid]);
                _commits.Add(single.Id, single);
                batch.Outstanding++;
                SendCommit(single.Id);
            }
        }
        else
        {
            var uid = commit.Uids[0];
            batch.Done.Remove(uid);
            Quarantine(batch, uid, "store", msg.Error);
            batch.QuarantinedCount++;
        }

        FinishIfDone(batch);
    }

    private void OnEmailQuarantined(SinkProtocol.EmailQuarantined msg)
    {
        if (!_batches.TryGetValue(msg.Ticket, out var batch))
        {
            return;
        }

        batch.Outstanding--;
        FinishIfDone(batch);
    }

    private void FinishIfDone(Batch batch)
    {
        if (!batch.Finishing || batch.Outstanding > 0 || batch.Persisting)
        {
            return;
        }

        batch.Persisting = true;
        var quarantined = batch.Exhausted.Count + batch.QuarantinedCount;
        var events = _cursor.Decide(new CursorCommands.CommitUids(batch.UidValidity, batch.Uids, quarantined, DateTimeOffset.UtcNow));
        PersistAll(events, ApplyAndSnapshot);
        DeferAsync(batch, _ =>
        {
            _batches.Remove(batch.Id);
            batch.DisposeRaw();
            _options.ReportTo.Tell(new MailboxReports.BatchDone(_options.Mailbox, batch.Items.Count, batch.Bytes, batch.Created,
                batch.Already, batch.Reconciled, quarantined, batch.Gone));
            _log.Debug("Mailbox {Mailbox} committed {Count} emails up to UID {Uid}", _options.Mailbox, batch.Items.Count, batch.Uids.Max());
            Pump();
            if (_stopping && _batches.Count == 0 && !_imapBusy)
            {
                Context.Stop(Self);
            }
        });
    }

    private void PollCompleted()
    {
        _polling = false;
        if (_options.Once)
        {
            if (_chosenThisPoll > 0)
            {
                Self.Tell(PollTick.Instance);
            }
            else if (!_caughtUpReported)
            {
                _caughtUpReported = true;
                _options.ReportTo.Tell(new MailboxReports.CaughtUp(_options.Mailbox));
            }

            return;
        }

        Timers.StartSingleTimer("poll", PollTick.Instance, _options.Asset.PollInterval);
    }

    private void BeginStop()
    {
        _stopping = true;
        _queue.Clear();
        Timers.CancelAll();
        if (_batches.Count == 0 && !_imapBusy)
        {
            Context.Stop(Self);
        }
    }

    private void OnImapFailure(Status.Failure failure)
    {
        _imapBusy = false;
        var cause = failure.Cause is MailboxPollException mpe ? mpe.InnerException! : failure.Cause;
        if (failure.Cause is MailboxPollException { Connection: { } broken })
        {
            _connection = broken;
        }

        var (code, transient) = cause is ImapFailureException imap ? (imap.Cause.ToString(), imap.IsTransient) : ("ConnectionLost", true);
        _options.ReportTo.Tell(new MailboxReports.Failed(_options.Mailbox, code, cause.Message, transient));
        if (_stopping)
        {
            Context.Stop(Self);
            return;
        }

        // The backoff supervisor restarts this mailbox alone; the cursor recovers from the journal and the batches in
        // flight are fetched again.
        throw new MailboxFailedException(_options.Mailbox, cause);
    }

    private void ApplyAndSnapshot(ICursorEvent e)
    {
        _cursor = _cursor.Apply(e);
        if (LastSequenceNr % _options.SnapshotEvery == 0)
        {
            SaveSnapshot(new CursorSnapshot(_cursor));
        }
    }

    /// <summary>Props wrapped in a backoff supervisor with jitter, the shape every mailbox runs in.</summary>
    public static Props SupervisedProps(MailboxOptions options, TimeSpan minBackoff, TimeSpan maxBackoff) =>
        // OnStop, with every failure turned into a stop: a persistence failure stops a persistent actor, and an IMAP
        // failure must wait out the same backoff, so both come back the same way, after min..max with 20% jitter.
        BackoffSupervisor.Props(
            Backoff.OnStop(
                    Props.Create(() => new MailboxActor(options)),
                    "mailbox",
                    minBackoff,
                    maxBackoff,
                    0.2,
                    -1)
                .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Stop))
                .WithFinalStopMessage(m => m is MailboxCommands.StopGracefully));

    private sealed class PollTick
    {
        public static readonly PollTick Instance = new();
    }

    private sealed record PollPlanned(IMailboxConnection Connection, FolderStatus Status, IReadOnlyList<uint> Uids, bool FirstPoll,
        bool ValidityChanged, uint Floor) : INoSerializationVerificationNeeded;

    private sealed record BatchFetched(long BatchId, IReadOnlyList<FetchedEmail> Emails) : INoSerializationVerificationNeeded;

    private sealed record RetryItem(long BatchId, uint Uid);

    private sealed record RetryCommit(long CommitId);

    private sealed record ItemTimeout(long BatchId);

    private sealed class Commit(long id, long batchId, List<uint> uids)
    {
        public long Id { get; } = id;
        public long BatchId { get; } = batchId;
        public List<uint> Uids { get; } = uids;
        public int Attempts { get; set; }
    }

    private sealed class Batch(long id, uint uidValidity, IReadOnlyList<uint> uids)
    {
        public long Id { get; } = id;
        public uint UidValidity { get; } = uidValidity;
        public IReadOnlyList<uint> Uids { get; } = uids;
        public Dictionary<uint, WorkItem> Items { get; } = new();
        public Dictionary<uint, EmailToCommit> Done { get; } = new();
        public Dictionary<uint, (string Stage, string Error)> Exhausted { get; } = new();
        public HashSet<uint> Retrying { get; } = new();
        public int Gone { get; set; }
        public long Bytes { get; set; }
        public bool Finishing { get; set; }
        public bool Persisting { get; set; }
        public int Outstanding { get; set; }
        public int Created { get; set; }
        public int Already { get; set; }
        public int Reconciled { get; set; }
        public int QuarantinedCount { get; set; }

        public bool IsOpen(uint uid) => Items.ContainsKey(uid) && !Done.ContainsKey(uid) && !Exhausted.ContainsKey(uid) && !Finishing;

        public void DisposeRaw()
        {
            foreach (var item in Items.Values)
            {
                item.Raw.Dispose();
            }
        }
    }
}

/// <summary>An IMAP step of a poll failed; carries the connection so the actor can close it.</summary>
internal sealed class MailboxPollException(IMailboxConnection connection, Exception inner)
    : Exception(inner.Message, inner)
{
    public IMailboxConnection Connection { get; } = connection;
}

/// <summary>A mailbox stops itself with this so its backoff supervisor restarts it.</summary>
public sealed class MailboxFailedException(MailboxId mailbox, Exception inner)
    : Exception($"Mailbox {mailbox} failed: {inner.Message}", inner)
{
    public MailboxId Mailbox { get; } = mailbox;
}
