using System.Collections.Immutable;

namespace ImapActors.Ingestion.Ledger;

/// <summary>
/// The batches of one mailbox between fetch and cursor: which emails are in the pipeline, staged, committing or
/// quarantined, their attempts and deadlines, and the commits in flight. Immutable and deterministic: each method takes
/// one event (time as a parameter) and returns the next ledger with the effects its mailbox carries out.
/// </summary>
/// <remarks>
/// The rules: an email failing a stage is retried after <see cref="LedgerRules.BackoffAfter"/> up to
/// <see cref="LedgerRules.MaxAttempts"/>, then quarantined with that stage; an email with no answer within
/// <see cref="LedgerRules.ItemTimeout"/> has failed an attempt at stage <c>timeout</c>. A batch is committed in one commit
/// once none of its emails is still in the pipeline; a failed commit is retried the same way, and after its attempts a
/// commit of several emails is split into single-email commits, so only the email the store refuses is quarantined
/// (stage <c>store</c>). A fetch the server refuses is split in halves until the refused UIDs are alone; each is retried
/// the same way, then quarantined without raw bytes (stage <c>fetch</c>), and so is a UID the server still has but leaves
/// out of every answer. The cursor moves past a batch only once every UID of it is committed, quarantined or gone.
/// </remarks>
public sealed record BatchLedger(
    LedgerRules Rules,
    ImmutableSortedDictionary<long, LedgerBatch> Batches,
    ImmutableSortedDictionary<long, LedgerCommit> Commits,
    long LastId)
{
    public const string TimeoutStage = "timeout";
    public const string StoreStage = "store";

    /// <summary>The stage of a UID the server would not serve: its FETCH refused, or the UID left out of every answer.</summary>
    public const string FetchStage = "fetch";

    public static BatchLedger Empty(LedgerRules rules) =>
        new(rules, ImmutableSortedDictionary<long, LedgerBatch>.Empty, ImmutableSortedDictionary<long, LedgerCommit>.Empty, 0);

    public bool IsEmpty => Batches.IsEmpty;

    /// <summary>The emails whose raw bytes the ledger holds, to dispose when the mailbox stops.</summary>
    public IEnumerable<FetchedItem> Held => Batches.Values.SelectMany(b => b.Items.Values).Select(i => i.Email);

    /// <summary>Opens a batch of <paramref name="uids"/> (fetched under <paramref name="uidValidity"/>) and asks for its fetch.</summary>
    public LedgerStep Open(uint uidValidity, IReadOnlyList<uint> uids)
    {
        ArgumentNullException.ThrowIfNull(uids);
        var id = LastId + 1;
        var batch = new LedgerBatch(id, uidValidity, [.. uids.Distinct()], BatchPhase.Fetching,
            ImmutableSortedDictionary<uint, LedgerItem>.Empty, 0, new CommitTally(0, 0, 0), 0, null);
        var effects = new List<ILedgerEffect>();
        batch = SendNext(batch with { ToFetch = [new FetchPart(batch.Uids, 1, FetchPhase.Due)] }, effects);
        return new LedgerStep(this with { Batches = Batches.SetItem(id, batch), LastId = id }, effects);
    }

    /// <summary>Some batch is still being fetched: its mailbox sends no other fetch meanwhile.</summary>
    public bool IsFetching => Batches.Values.Any(b => b.Phase == BatchPhase.Fetching);

    /// <summary>The fetch answered: each email goes to the pipeline; UIDs it did not return are gone.</summary>
    public LedgerStep Fetched(long batchId, IReadOnlyList<FetchedItem> emails, DateTimeOffset now) => Fetched(batchId, emails, [], now);

    /// <summary>
    /// The fetch out answered. Its emails go to the pipeline once the whole batch is fetched. A UID it did not return
    /// is gone, unless it is in <paramref name="omitted"/> (the server still has it, but left it out of its answer): that
    /// is a failed fetch attempt of the UID, retried after the backoff, then quarantined at stage <see cref="FetchStage"/>.
    /// </summary>
    public LedgerStep Fetched(long batchId, IReadOnlyList<FetchedItem> emails, IReadOnlyList<uint> omitted, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(emails);
        ArgumentNullException.ThrowIfNull(omitted);
        if (!TryFetching(batchId, out var batch, out var part))
        {
            return new LedgerStep(this, [new LedgerEffects.Settle(batchId, [], emails, 0)]);
        }

        var effects = new List<ILedgerEffect>();
        var wanted = part.Uids.ToHashSet();
        var items = batch.Items.ToBuilder();
        var unwanted = new List<FetchedItem>();
        foreach (var email in emails)
        {
            if (wanted.Remove(email.Uid))
            {
                items.Add(email.Uid, new LedgerItem(email, 1, ItemPhase.Fetched, now));
            }
            else
            {
                unwanted.Add(email);
            }
        }

        batch = batch with { Items = items.ToImmutable(), ToFetch = batch.ToFetch.Remove(part) };
        foreach (var uid in omitted.Where(wanted.Contains).Distinct().Order())
        {
            batch = FailFetch(batch, uid, part.Attempt, "the server left it out of its answer to UID FETCH, though UID SEARCH still finds it", effects);
        }

        return FetchedPart(batch, unwanted, now, effects);
    }

    /// <summary>
    /// The server refused the fetch out (<paramref name="error"/> is its answer). A fetch of several UIDs is split in
    /// halves, fetched at once, until the UIDs it refuses are alone; a refused single UID is retried after the backoff,
    /// then quarantined at stage <see cref="FetchStage"/>. The rest of the batch is ingested.
    /// </summary>
    public LedgerStep FetchRefused(long batchId, string error, DateTimeOffset now)
    {
        if (!TryFetching(batchId, out var batch, out var part))
        {
            return new LedgerStep(this, []);
        }

        var effects = new List<ILedgerEffect>();
        if (part.Uids.Length > 1)
        {
            effects.Add(new LedgerEffects.SplitFetch(batchId, part.Uids, error));
            var half = part.Uids.Length / 2;
            var at = batch.ToFetch.IndexOf(part);
            batch = batch with
            {
                ToFetch = batch.ToFetch.RemoveAt(at).InsertRange(at,
                    [part with { Uids = part.Uids[..half], Phase = FetchPhase.Due }, part with { Uids = part.Uids[half..], Phase = FetchPhase.Due }]),
            };
        }
        else
        {
            batch = FailFetch(batch with { ToFetch = batch.ToFetch.Remove(part) }, part.Uids[0], part.Attempt, error, effects);
        }

        return FetchedPart(batch, [], now, effects);
    }

    /// <summary>The sink staged the processed email (any attempt's: the bytes are the same).</summary>
    public LedgerStep Staged(long batchId, uint uid)
    {
        if (!TryItem(batchId, uid, out var batch, out var item) || item.IsSettled || item.Phase == ItemPhase.Quarantining)
        {
            // A late answer for an email already settled (or of a batch already done): the sink's copy is never committed.
            return new LedgerStep(this, [new LedgerEffects.DiscardStaged(batchId, [uid])]);
        }

        if (!item.IsInPipeline)
        {
            return new LedgerStep(this, []);
        }

        return With(SetItem(batch, item with { Phase = ItemPhase.Staged }), []);
    }

    /// <summary>Attempt <paramref name="attempt"/> of the email failed at <paramref name="stage"/>.</summary>
    public LedgerStep Failed(long batchId, uint uid, int attempt, string stage, string error)
    {
        if (!TryItem(batchId, uid, out var batch, out var item) || item.Phase != ItemPhase.Processing || item.Attempt != attempt)
        {
            // An answer to an attempt already given up on (timed out), or for an email already processed.
            return new LedgerStep(this, []);
        }

        var effects = new List<ILedgerEffect>();
        return With(Fail(batch, item, stage, error, effects), effects);
    }

    /// <summary>An email's backoff is over: its next attempt starts (a fetch, for a UID the server would not serve).</summary>
    public LedgerStep RetryDue(long batchId, uint uid, DateTimeOffset now)
    {
        if (Batches.TryGetValue(batchId, out var fetching) && fetching.Phase == BatchPhase.Fetching
            && fetching.ToFetch.Find(p => p.Phase == FetchPhase.AwaitingRetry && p.Uids[0] == uid) is { } part)
        {
            var retry = new List<ILedgerEffect>();
            fetching = fetching with { ToFetch = fetching.ToFetch.Replace(part, part with { Attempt = part.Attempt + 1, Phase = FetchPhase.Due }) };
            return new LedgerStep(this with { Batches = Batches.SetItem(batchId, SendNext(fetching, retry)) }, retry);
        }

        if (!TryItem(batchId, uid, out var batch, out var item) || item.Phase != ItemPhase.AwaitingRetry)
        {
            return new LedgerStep(this, []);
        }

        var next = item with { Attempt = item.Attempt + 1, Phase = ItemPhase.Processing, Deadline = now + Rules.ItemTimeout };
        var effects = new List<ILedgerEffect> { new LedgerEffects.Parse(batchId, item.Email, next.Attempt) };
        return With(Deadline(SetItem(batch, next), now, effects), effects);
    }

    /// <summary>The batch's deadline timer fired: every email still unanswered past its deadline has failed an attempt.</summary>
    public LedgerStep DeadlineDue(long batchId, DateTimeOffset now)
    {
        if (!Batches.TryGetValue(batchId, out var batch))
        {
            return new LedgerStep(this, []);
        }

        var effects = new List<ILedgerEffect>();
        batch = batch with { DeadlineAt = null };
        foreach (var item in batch.Items.Values.Where(i => i.Phase == ItemPhase.Processing && i.Deadline <= now).ToList())
        {
            batch = Fail(batch, item, TimeoutStage, $"no answer from the pipeline within {Rules.ItemTimeout}", effects);
        }

        return With(Deadline(batch, now, effects), effects);
    }

    /// <summary>The sink committed the commit's emails.</summary>
    public LedgerStep Committed(long commitId, CommitTally tally)
    {
        ArgumentNullException.ThrowIfNull(tally);
        if (!Commits.TryGetValue(commitId, out var commit) || !Batches.TryGetValue(commit.BatchId, out var batch))
        {
            return new LedgerStep(this, []);
        }

        var settled = commit.Uids.Select(u => batch.Items[u].Email).ToList();
        batch = commit.Uids.Aggregate(batch, (b, u) => SetItem(b, b.Items[u] with { Phase = ItemPhase.Committed }));
        batch = batch with
        {
            Tally = new CommitTally(batch.Tally.Created + tally.Created, batch.Tally.AlreadyIngested + tally.AlreadyIngested,
                batch.Tally.Reconciled + tally.Reconciled),
        };
        var effects = new List<ILedgerEffect> { new LedgerEffects.Settle(batch.Id, commit.Uids, settled, settled.Sum(e => e.Size)) };
        return (this with { Commits = Commits.Remove(commitId) }).With(batch, effects);
    }

    /// <summary>The sink could not commit the commit's emails.</summary>
    public LedgerStep CommitFailed(long commitId, string error)
    {
        if (!Commits.TryGetValue(commitId, out var commit) || !Batches.TryGetValue(commit.BatchId, out var batch))
        {
            return new LedgerStep(this, []);
        }

        var attempts = commit.Attempts + 1;
        if (attempts < Rules.MaxAttempts)
        {
            var retry = new LedgerEffects.ScheduleCommitRetry(commitId, Rules.BackoffAfter(attempts), attempts, commit.Uids.Length, error);
            return new LedgerStep(this with { Commits = Commits.SetItem(commitId, commit with { Attempts = attempts }) }, [retry]);
        }

        var effects = new List<ILedgerEffect>();
        var ledger = this with { Commits = Commits.Remove(commitId) };
        if (commit.Uids.Length > 1)
        {
            // One email may be what the store refuses: commit them one by one so only that one is quarantined.
            foreach (var uid in commit.Uids)
            {
                ledger = ledger.StartCommit(batch.Id, [uid], effects);
            }

            return new LedgerStep(ledger, effects);
        }

        var item = batch.Items[commit.Uids[0]];
        effects.Add(new LedgerEffects.DiscardStaged(batch.Id, [item.Email.Uid]));
        effects.Add(new LedgerEffects.Quarantine(batch.Id, item.Email, StoreStage, error, attempts));
        return ledger.With(SetItem(batch, item with { Phase = ItemPhase.Quarantining }), effects);
    }

    /// <summary>A failed commit's backoff is over: it is sent again.</summary>
    public LedgerStep CommitRetryDue(long commitId) =>
        Commits.TryGetValue(commitId, out var commit)
            ? new LedgerStep(this, [new LedgerEffects.Commit(commitId, commit.BatchId, commit.Uids)])
            : new LedgerStep(this, []);

    /// <summary>The sink quarantined the email.</summary>
    public LedgerStep Quarantined(long batchId, uint uid)
    {
        if (Batches.TryGetValue(batchId, out var open) && open.Phase == BatchPhase.Open
            && open.Unserved.TryGetValue(uid, out var unserved) && !unserved.Quarantined)
        {
            open = open with
            {
                Unserved = open.Unserved.SetItem(uid, unserved with { Quarantined = true }),
                Quarantined = open.Quarantined + 1,
            };
            return With(open, [new LedgerEffects.Settle(batchId, [uid], [], 0)]);
        }

        if (!TryItem(batchId, uid, out var batch, out var item) || item.Phase != ItemPhase.Quarantining)
        {
            return new LedgerStep(this, []);
        }

        batch = SetItem(batch, item with { Phase = ItemPhase.Quarantined }) with { Quarantined = batch.Quarantined + 1 };
        var effects = new List<ILedgerEffect> { new LedgerEffects.Settle(batchId, [uid], [item.Email], item.Email.Size) };
        return With(batch, effects);
    }

    /// <summary>The cursor's move past the batch is persisted: the batch is done.</summary>
    public LedgerStep CursorAdvanced(long batchId)
    {
        if (!Batches.TryGetValue(batchId, out var batch) || batch.Phase != BatchPhase.Closing)
        {
            return new LedgerStep(this, []);
        }

        var done = new LedgerEffects.BatchDone(batchId, batch.Items.Count, batch.Bytes, batch.Tally, batch.Quarantined, batch.Gone,
            batch.Uids.IsEmpty ? 0 : batch.Uids.Max());
        return new LedgerStep(this with { Batches = Batches.Remove(batchId) }, [done]);
    }

    /// <summary>The batch is fetching and has a fetch out, the one an answer is for (a mailbox sends one at a time).</summary>
    private bool TryFetching(long batchId, out LedgerBatch batch, out FetchPart part)
    {
        part = null!;
        if (!Batches.TryGetValue(batchId, out batch!) || batch.Phase != BatchPhase.Fetching)
        {
            return false;
        }

        part = batch.ToFetch.Find(p => p.Phase == FetchPhase.InFlight)!;
        return part is not null;
    }

    /// <summary>Attempt <paramref name="attempt"/> at fetching <paramref name="uid"/> failed: retry it alone later, or give up on it.</summary>
    private LedgerBatch FailFetch(LedgerBatch batch, uint uid, int attempt, string error, List<ILedgerEffect> effects)
    {
        if (attempt < Rules.MaxAttempts)
        {
            effects.Add(new LedgerEffects.ScheduleRetry(batch.Id, uid, Rules.BackoffAfter(attempt), attempt, FetchStage, error));
            return batch with { ToFetch = batch.ToFetch.Add(new FetchPart([uid], attempt, FetchPhase.AwaitingRetry)) };
        }

        return batch with { Unserved = batch.Unserved.SetItem(uid, new UnservedUid(uid, attempt, error, false)) };
    }

    /// <summary>Sends the next part due when no fetch is out.</summary>
    private static LedgerBatch SendNext(LedgerBatch batch, List<ILedgerEffect> effects)
    {
        if (batch.ToFetch.Exists(p => p.Phase == FetchPhase.InFlight) || batch.ToFetch.Find(p => p.Phase == FetchPhase.Due) is not { } next)
        {
            return batch;
        }

        effects.Add(new LedgerEffects.Fetch(batch.Id, next.Uids, batch.UidValidity));
        return batch with { ToFetch = batch.ToFetch.Replace(next, next with { Phase = FetchPhase.InFlight }) };
    }

    /// <summary>
    /// A part of the batch is answered: the next one is sent, or, once none is left, the batch's emails go to the
    /// pipeline and the UIDs the server would not serve to quarantine. The admission gate is charged then, once per
    /// batch as for an unsplit fetch, so its credit for the batch is neither released early nor counted twice.
    /// </summary>
    private LedgerStep FetchedPart(LedgerBatch batch, List<FetchedItem> unwanted, DateTimeOffset now, List<ILedgerEffect> effects)
    {
        if (!batch.ToFetch.IsEmpty)
        {
            if (unwanted.Count > 0)
            {
                effects.Add(new LedgerEffects.Settle(batch.Id, [], unwanted, 0));
            }

            return new LedgerStep(this with { Batches = Batches.SetItem(batch.Id, SendNext(batch, effects)) }, effects);
        }

        var fetched = batch.Items.Values.Select(i => i.Email).ToList();
        var gone = batch.Uids.Where(u => !batch.Items.ContainsKey(u) && !batch.Unserved.ContainsKey(u)).Order().ToList();
        effects.Add(new LedgerEffects.Charge(batch.Id, fetched.Sum(e => e.Size)));
        if (gone.Count > 0 || unwanted.Count > 0)
        {
            effects.Add(new LedgerEffects.Settle(batch.Id, gone, unwanted, 0));
        }

        effects.AddRange(fetched.Select(e => new LedgerEffects.Parse(batch.Id, e, 1)));
        effects.AddRange(batch.Unserved.Values.Select(u => new LedgerEffects.QuarantineUnserved(batch.Id, u.Uid, batch.UidValidity, u.Error, u.Attempts)));
        var items = batch.Items.ToImmutableSortedDictionary(i => i.Key,
            i => i.Value with { Phase = ItemPhase.Processing, Deadline = now + Rules.ItemTimeout });
        batch = batch with { Phase = BatchPhase.Open, Items = items, Gone = gone.Count };
        return With(Deadline(batch, now, effects), effects);
    }

    private bool TryItem(long batchId, uint uid, out LedgerBatch batch, out LedgerItem item)
    {
        item = null!;
        return Batches.TryGetValue(batchId, out batch!) && batch.Phase == BatchPhase.Open && batch.Items.TryGetValue(uid, out item!);
    }

    private static LedgerBatch SetItem(LedgerBatch batch, LedgerItem item) => batch with { Items = batch.Items.SetItem(item.Email.Uid, item) };

    private LedgerBatch Fail(LedgerBatch batch, LedgerItem item, string stage, string error, List<ILedgerEffect> effects)
    {
        if (item.Attempt < Rules.MaxAttempts)
        {
            effects.Add(new LedgerEffects.ScheduleRetry(batch.Id, item.Email.Uid, Rules.BackoffAfter(item.Attempt), item.Attempt, stage, error));
            return SetItem(batch, item with { Phase = ItemPhase.AwaitingRetry });
        }

        effects.Add(new LedgerEffects.Quarantine(batch.Id, item.Email, stage, error, item.Attempt));
        return SetItem(batch, item with { Phase = ItemPhase.Quarantining });
    }

    /// <summary>Keeps one deadline timer per batch, due at the earliest deadline of an email in the pipeline.</summary>
    private static LedgerBatch Deadline(LedgerBatch batch, DateTimeOffset now, List<ILedgerEffect> effects)
    {
        var pending = batch.Items.Values.Where(i => i.Phase == ItemPhase.Processing).Select(i => (DateTimeOffset?)i.Deadline).Min();
        if (pending is not { } earliest || batch.DeadlineAt is { } scheduled && scheduled <= earliest)
        {
            // A timer due earlier than needed finds nothing late and sets the next one.
            return batch;
        }

        effects.Add(new LedgerEffects.ScheduleDeadline(batch.Id, earliest > now ? earliest - now : TimeSpan.Zero));
        return batch with { DeadlineAt = earliest };
    }

    private BatchLedger StartCommit(long batchId, ImmutableArray<uint> uids, List<ILedgerEffect> effects)
    {
        var id = LastId + 1;
        effects.Add(new LedgerEffects.Commit(id, batchId, uids));
        return this with { Commits = Commits.SetItem(id, new LedgerCommit(id, batchId, uids, 0)), LastId = id };
    }

    /// <summary>Stores the batch, then moves it on: commit once nothing is in the pipeline, close once all is settled.</summary>
    private LedgerStep With(LedgerBatch batch, List<ILedgerEffect> effects)
    {
        var ledger = this;
        if (batch.Phase == BatchPhase.Open && !batch.Items.Values.Any(i => i.IsInPipeline))
        {
            var staged = batch.Items.Values.Where(i => i.Phase == ItemPhase.Staged).Select(i => i.Email.Uid).ToImmutableArray();
            if (staged.Length > 0)
            {
                batch = staged.Aggregate(batch, (b, u) => SetItem(b, b.Items[u] with { Phase = ItemPhase.Committing }));
                ledger = ledger.StartCommit(batch.Id, staged, effects);
            }
        }

        if (batch.Phase == BatchPhase.Open && batch.IsSettled)
        {
            batch = batch with { Phase = BatchPhase.Closing };
            effects.Add(new LedgerEffects.AdvanceCursor(batch.Id, batch.UidValidity, batch.Uids, batch.Quarantined));
        }

        return new LedgerStep(ledger with { Batches = ledger.Batches.SetItem(batch.Id, batch) }, effects);
    }
}
