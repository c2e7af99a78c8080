using ImapActors.Domain;
using ImapActors.Ingestion.Ledger;
using E = ImapActors.Ingestion.Ledger.LedgerEffects;

namespace ImapActors.Ingestion.Tests;

/// <summary>The ledger's rules, one test per rule, without an actor system.</summary>
public class BatchLedgerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly Run _run = new(new LedgerRules(3, Backoff, Timeout));

    private static FetchedItem Email(uint uid, long size = 100) =>
        new(new EmailSource(new AssetName("phish"), new FolderName("INBOX"), uid, 7, null), size, RawEmail.FromBytes([1]));

    /// <summary>Opens a batch of <paramref name="uids"/> and answers its fetch with every one of them.</summary>
    private long Fetched(params uint[] uids)
    {
        var id = _run.Do(l => l.Open(7, uids)).OfType<E.Fetch>().Single().BatchId;
        _run.Do(l => l.Fetched(id, uids.Select(u => Email(u, 100 + u)).ToList(), T0));
        return id;
    }

    /// <summary>Stages every UID of the batch and returns the commit that asks for.</summary>
    private E.Commit StageAll(long batch, params uint[] uids)
    {
        foreach (var uid in uids)
        {
            _run.Do(l => l.Staged(batch, uid));
        }

        return _run.Last.OfType<E.Commit>().Single();
    }

    [Fact]
    public void Opening_a_batch_asks_for_the_fetch_of_its_uids()
    {
        var fetch = Assert.IsType<E.Fetch>(Assert.Single(_run.Do(l => l.Open(7, [5, 6, 7]))));
        Assert.Equal([5u, 6u, 7u], fetch.Uids);
        var second = _run.Do(l => l.Open(7, [8])).OfType<E.Fetch>().Single();
        Assert.NotEqual(fetch.BatchId, second.BatchId);
    }

    [Fact]
    public void Fetched_emails_go_to_the_parser_as_first_attempts_and_their_bytes_are_charged()
    {
        Fetched(1, 2, 3);
        Assert.Equal([(1u, 1), (2u, 1), (3u, 1)], _run.Last.OfType<E.Parse>().Select(p => (p.Email.Uid, p.Attempt)));
        var charge = _run.Last.OfType<E.Charge>().Single();
        Assert.Equal(101 + 102 + 103, charge.Bytes);
        Assert.Equal(Timeout, _run.Last.OfType<E.ScheduleDeadline>().Single().Delay);
    }

    [Fact]
    public void Uids_the_fetch_did_not_return_are_gone_settled_at_once_and_passed_by_the_cursor()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2, 3])).OfType<E.Fetch>().Single().BatchId;
        _run.Do(l => l.Fetched(batch, [Email(2)], T0));
        var gone = _run.Last.OfType<E.Settle>().Single();
        Assert.Equal([1u, 3u], gone.Uids);
        Assert.Equal(0, gone.Bytes);

        var commit = StageAll(batch, 2);
        Assert.Equal([2u], commit.Uids);
        var advance = _run.Do(l => l.Committed(commit.CommitId, new CommitTally(1, 0, 0))).OfType<E.AdvanceCursor>().Single();
        Assert.Equal([1u, 2u, 3u], advance.Uids);
        var done = _run.Do(l => l.CursorAdvanced(batch)).OfType<E.BatchDone>().Single();
        Assert.Equal((1, 2), (done.Fetched, done.Gone));
    }

    [Fact]
    public void A_batch_whose_uids_are_all_gone_moves_the_cursor_without_a_commit()
    {
        var batch = _run.Do(l => l.Open(7, [4, 5])).OfType<E.Fetch>().Single().BatchId;
        var effects = _run.Do(l => l.Fetched(batch, [], T0));
        Assert.Empty(effects.OfType<E.Commit>());
        Assert.Equal([4u, 5u], effects.OfType<E.AdvanceCursor>().Single().Uids);
    }

    [Fact]
    public void The_batch_is_committed_in_one_commit_once_none_of_its_emails_is_left_in_the_pipeline()
    {
        var batch = Fetched(1, 2, 3);
        _run.Do(l => l.Staged(batch, 1));
        _run.Do(l => l.Staged(batch, 3));
        Assert.DoesNotContain(_run.All, e => e is E.Commit);
        var commit = Assert.IsType<E.Commit>(Assert.Single(_run.Do(l => l.Staged(batch, 2))));
        Assert.Equal(batch, commit.BatchId);
        Assert.Equal([1u, 2u, 3u], commit.Uids);
    }

    [Fact]
    public void A_failed_email_is_retried_after_the_backoff_doubled_per_attempt()
    {
        var batch = Fetched(1);
        var first = _run.Do(l => l.Failed(batch, 1, 1, "parse", "bad")).OfType<E.ScheduleRetry>().Single();
        Assert.Equal((Backoff, 1, "parse"), (first.Delay, first.FailedAttempt, first.Stage));
        Assert.Empty(_run.Last.OfType<E.Parse>());

        var retry = _run.Do(l => l.RetryDue(batch, 1, T0 + Backoff)).OfType<E.Parse>().Single();
        Assert.Equal(2, retry.Attempt);
        var second = _run.Do(l => l.Failed(batch, 1, 2, "parse", "bad")).OfType<E.ScheduleRetry>().Single();
        Assert.Equal(Backoff * 2, second.Delay);
    }

    [Fact]
    public void An_email_failing_every_attempt_is_quarantined_with_its_stage_and_attempts()
    {
        var batch = Fetched(1, 2);
        for (var attempt = 1; attempt < 3; attempt++)
        {
            var a = attempt;
            _run.Do(l => l.Failed(batch, 1, a, "extract", "boom"));
            _run.Do(l => l.RetryDue(batch, 1, T0));
        }

        var quarantine = _run.Do(l => l.Failed(batch, 1, 3, "extract", "boom")).OfType<E.Quarantine>().Single();
        Assert.Equal((1u, "extract", "boom", 3), (quarantine.Email.Uid, quarantine.Stage, quarantine.Error, quarantine.Attempts));
        Assert.Empty(_run.Last.OfType<E.ScheduleRetry>());
        Assert.Equal(3, _run.All.OfType<E.Parse>().Count(p => p.Email.Uid == 1));
    }

    [Fact]
    public void A_late_failure_of_an_earlier_attempt_changes_nothing()
    {
        var batch = Fetched(1);
        _run.Do(l => l.Failed(batch, 1, 1, "parse", "bad"));
        _run.Do(l => l.RetryDue(batch, 1, T0));
        Assert.Empty(_run.Do(l => l.Failed(batch, 1, 1, "parse", "late")));
    }

    [Fact]
    public void An_email_without_an_answer_by_its_deadline_has_failed_an_attempt_at_timeout()
    {
        var batch = Fetched(1, 2);
        _run.Do(l => l.Staged(batch, 2));
        Assert.Empty(_run.Do(l => l.DeadlineDue(batch, T0 + Timeout - TimeSpan.FromSeconds(1))).OfType<E.ScheduleRetry>());

        var retry = _run.Do(l => l.DeadlineDue(batch, T0 + Timeout)).OfType<E.ScheduleRetry>().Single();
        Assert.Equal((1u, 1, BatchLedger.TimeoutStage), (retry.Uid, retry.FailedAttempt, retry.Stage));
        var parse = _run.Do(l => l.RetryDue(batch, 1, T0 + Timeout + Backoff)).OfType<E.Parse>().Single();
        Assert.Equal(2, parse.Attempt);
        Assert.Equal(Timeout, _run.Last.OfType<E.ScheduleDeadline>().Single().Delay);
    }

    [Fact]
    public void A_late_success_after_a_timeout_is_taken_and_the_retry_dropped()
    {
        var batch = Fetched(1);
        _run.Do(l => l.DeadlineDue(batch, T0 + Timeout));
        var commit = StageAll(batch, 1);
        Assert.Equal([1u], commit.Uids);
        Assert.Empty(_run.Do(l => l.RetryDue(batch, 1, T0 + Timeout + Backoff)));
    }

    [Fact]
    public void A_failed_commit_is_sent_again_with_the_same_uids_after_the_backoff_doubled_per_attempt()
    {
        var batch = Fetched(1, 2);
        var commit = StageAll(batch, 1, 2);
        var first = _run.Do(l => l.CommitFailed(commit.CommitId, "db down")).OfType<E.ScheduleCommitRetry>().Single();
        Assert.Equal((Backoff, 2), (first.Delay, first.Count));
        var again = _run.Do(l => l.CommitRetryDue(commit.CommitId)).OfType<E.Commit>().Single();
        Assert.Equal(commit.CommitId, again.CommitId);
        Assert.Equal([1u, 2u], again.Uids);
        Assert.Equal(Backoff * 2, _run.Do(l => l.CommitFailed(commit.CommitId, "db down")).OfType<E.ScheduleCommitRetry>().Single().Delay);
    }

    [Fact]
    public void After_its_attempts_a_commit_of_several_emails_is_split_into_single_email_commits()
    {
        var batch = Fetched(1, 2, 3);
        var commit = StageAll(batch, 1, 2, 3);
        _run.Do(l => l.CommitFailed(commit.CommitId, "refused"));
        _run.Do(l => l.CommitFailed(commit.CommitId, "refused"));
        var singles = _run.Do(l => l.CommitFailed(commit.CommitId, "refused")).OfType<E.Commit>().ToList();
        Assert.Equal([[1u], [2u], [3u]], singles.Select(c => c.Uids.ToArray()));
        Assert.Empty(_run.Last.OfType<E.Quarantine>());
    }

    [Fact]
    public void A_single_email_commit_failing_every_attempt_is_quarantined_at_store_and_dropped_from_the_sink()
    {
        var batch = Fetched(1, 2);
        var commit = StageAll(batch, 1, 2);
        for (var i = 0; i < 3; i++)
        {
            _run.Do(l => l.CommitFailed(commit.CommitId, "refused"));
        }

        var singles = _run.Last.OfType<E.Commit>().ToList();
        _run.Do(l => l.Committed(singles[0].CommitId, new CommitTally(1, 0, 0)));
        for (var i = 0; i < 3; i++)
        {
            _run.Do(l => l.CommitFailed(singles[1].CommitId, "value refused"));
        }

        var quarantine = _run.Last.OfType<E.Quarantine>().Single();
        Assert.Equal((2u, BatchLedger.StoreStage, "value refused"), (quarantine.Email.Uid, quarantine.Stage, quarantine.Error));
        Assert.Equal([2u], _run.Last.OfType<E.DiscardStaged>().Single().Uids);
    }

    [Fact]
    public void The_cursor_moves_only_once_every_uid_of_the_batch_is_committed_quarantined_or_gone()
    {
        var batch = Fetched(1, 2, 3);
        _run.Do(l => l.Staged(batch, 1));
        _run.Do(l => l.Staged(batch, 2));
        _run.Do(l => l.Failed(batch, 3, 1, "parse", "x"));
        _run.Do(l => l.RetryDue(batch, 3, T0));
        _run.Do(l => l.Failed(batch, 3, 2, "parse", "x"));
        _run.Do(l => l.RetryDue(batch, 3, T0));
        _run.Do(l => l.Failed(batch, 3, 3, "parse", "x"));
        var commit = _run.All.OfType<E.Commit>().Single();
        Assert.Empty(_run.Do(l => l.Committed(commit.CommitId, new CommitTally(2, 0, 0))).OfType<E.AdvanceCursor>());

        var advance = _run.Do(l => l.Quarantined(batch, 3)).OfType<E.AdvanceCursor>().Single();
        Assert.Equal([1u, 2u, 3u], advance.Uids);
        Assert.Equal((1, 7u), (advance.Quarantined, advance.UidValidity));
    }

    [Fact]
    public void The_cursor_moves_past_one_batch_at_a_time()
    {
        var first = Fetched(1, 2);
        var second = Fetched(3, 4);
        _run.Do(l => l.Staged(first, 1));
        var commit = StageAll(second, 3, 4);
        var advance = _run.Do(l => l.Committed(commit.CommitId, new CommitTally(2, 0, 0))).OfType<E.AdvanceCursor>().Single();
        Assert.Equal(second, advance.BatchId);
        Assert.Equal([3u, 4u], advance.Uids);
        Assert.DoesNotContain(_run.All.OfType<E.AdvanceCursor>(), a => a.BatchId == first);
    }

    [Fact]
    public void Settled_uids_give_back_their_credit_with_their_bytes()
    {
        var batch = Fetched(1, 2, 3);
        _run.Do(l => l.Staged(batch, 1));
        _run.Do(l => l.Staged(batch, 2));
        for (var a = 1; a <= 3; a++)
        {
            var attempt = a;
            _run.Do(l => l.Failed(batch, 3, attempt, "parse", "x"));
            _run.Do(l => l.RetryDue(batch, 3, T0));
        }

        var commit = _run.All.OfType<E.Commit>().Single();
        var committed = _run.Do(l => l.Committed(commit.CommitId, new CommitTally(2, 0, 0))).OfType<E.Settle>().Single();
        Assert.Equal([1u, 2u], committed.Uids);
        Assert.Equal(101 + 102, committed.Bytes);
        var quarantined = _run.Do(l => l.Quarantined(batch, 3)).OfType<E.Settle>().Single();
        Assert.Equal([3u], quarantined.Uids);
        Assert.Equal(103, quarantined.Bytes);
        Assert.Equal([1u, 2u, 3u], _run.All.OfType<E.Settle>().SelectMany(s => s.Emails).Select(e => e.Uid).Order());
    }

    [Fact]
    public void A_staged_email_the_ledger_no_longer_needs_is_dropped_from_the_sink()
    {
        var batch = Fetched(1);
        for (var a = 1; a <= 3; a++)
        {
            var attempt = a;
            _run.Do(l => l.Failed(batch, 1, attempt, "parse", "x"));
            _run.Do(l => l.RetryDue(batch, 1, T0));
        }

        Assert.Equal([1u], Assert.IsType<E.DiscardStaged>(Assert.Single(_run.Do(l => l.Staged(batch, 1)))).Uids);
        Assert.Equal(99, Assert.IsType<E.DiscardStaged>(Assert.Single(_run.Do(l => l.Staged(99, 1)))).BatchId);
    }

    [Fact]
    public void A_batch_is_reported_and_forgotten_once_the_cursor_move_is_persisted()
    {
        var batch = Fetched(1, 2);
        var commit = StageAll(batch, 1, 2);
        _run.Do(l => l.Committed(commit.CommitId, new CommitTally(1, 1, 0)));
        Assert.False(_run.Ledger.IsEmpty);
        var done = Assert.IsType<E.BatchDone>(Assert.Single(_run.Do(l => l.CursorAdvanced(batch))));
        Assert.Equal((2, 101L + 102, new CommitTally(1, 1, 0), 0, 0, 2u), (done.Fetched, done.Bytes, done.Tally, done.Quarantined, done.Gone, done.HighestUid));
        Assert.True(_run.Ledger.IsEmpty);
    }

    [Fact]
    public void A_refused_fetch_of_several_uids_is_split_in_halves_fetched_one_at_a_time()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2, 3, 4, 5])).OfType<E.Fetch>().Single().BatchId;
        var effects = _run.Do(l => l.FetchRefused(batch, "NO Internal error occurred.", T0));
        Assert.Equal([1u, 2u, 3u, 4u, 5u], effects.OfType<E.SplitFetch>().Single().Uids);
        var left = Assert.Single(effects.OfType<E.Fetch>());
        Assert.Equal([1u, 2u], left.Uids);
        Assert.Equal(7u, left.UidValidity);

        var right = Assert.IsType<E.Fetch>(Assert.Single(_run.Do(l => l.Fetched(batch, [Email(1), Email(2)], T0))));
        Assert.Equal([3u, 4u, 5u], right.Uids);
        Assert.DoesNotContain(_run.All, e => e is E.Parse or E.Charge or E.Settle);
    }

    [Fact]
    public void A_refused_single_uid_is_retried_after_the_backoff_doubled_per_attempt_then_quarantined_at_fetch()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2])).OfType<E.Fetch>().Single().BatchId;
        _run.Do(l => l.FetchRefused(batch, "NO refused", T0));
        _run.Do(l => l.Fetched(batch, [Email(1)], T0));
        var first = _run.Do(l => l.FetchRefused(batch, "NO refused", T0)).OfType<E.ScheduleRetry>().Single();
        Assert.Equal((2u, Backoff, 1, BatchLedger.FetchStage, "NO refused"), (first.Uid, first.Delay, first.FailedAttempt, first.Stage, first.Error));
        Assert.Empty(_run.Last.OfType<E.Fetch>());

        Assert.Equal([2u], _run.Do(l => l.RetryDue(batch, 2, T0 + Backoff)).OfType<E.Fetch>().Single().Uids);
        Assert.Equal(Backoff * 2, _run.Do(l => l.FetchRefused(batch, "NO refused", T0)).OfType<E.ScheduleRetry>().Single().Delay);
        _run.Do(l => l.RetryDue(batch, 2, T0 + Backoff * 3));
        var last = _run.Do(l => l.FetchRefused(batch, "NO refused", T0));
        Assert.Empty(last.OfType<E.ScheduleRetry>());
        var quarantine = last.OfType<E.QuarantineUnserved>().Single();
        Assert.Equal((2u, 7u, "NO refused", 3), (quarantine.Uid, quarantine.UidValidity, quarantine.Error, quarantine.Attempts));
        Assert.Equal(4, _run.All.OfType<E.Fetch>().Count(f => f.Uids.Contains(2u)));
    }

    [Fact]
    public void Other_parts_are_fetched_while_a_refused_uid_waits_out_its_backoff()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2, 3, 4])).OfType<E.Fetch>().Single().BatchId;
        _run.Do(l => l.FetchRefused(batch, "NO", T0));
        _run.Do(l => l.FetchRefused(batch, "NO", T0));
        var effects = _run.Do(l => l.FetchRefused(batch, "NO", T0));
        Assert.Equal(1u, effects.OfType<E.ScheduleRetry>().Single().Uid);
        Assert.Equal([2u], effects.OfType<E.Fetch>().Single().Uids);
        Assert.Equal([3u, 4u], _run.Do(l => l.Fetched(batch, [Email(2)], T0)).OfType<E.Fetch>().Single().Uids);
        Assert.Empty(_run.Do(l => l.Fetched(batch, [Email(3), Email(4)], T0)));
        Assert.Equal([1u], _run.Do(l => l.RetryDue(batch, 1, T0 + Backoff)).OfType<E.Fetch>().Single().Uids);
    }

    [Fact]
    public void A_split_batch_goes_to_the_pipeline_once_fetched_and_its_credit_is_charged_once_and_given_back_whole()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2, 3])).OfType<E.Fetch>().Single().BatchId;
        _run.Do(l => l.FetchRefused(batch, "NO", T0));
        _run.Do(l => l.Fetched(batch, [Email(1, 10)], T0));
        _run.Do(l => l.FetchRefused(batch, "NO", T0));
        _run.Do(l => l.FetchRefused(batch, "NO", T0));
        _run.Do(l => l.Fetched(batch, [Email(3, 30)], T0));
        for (var i = 0; i < 2; i++)
        {
            _run.Do(l => l.RetryDue(batch, 2, T0));
            _run.Do(l => l.FetchRefused(batch, "NO", T0));
        }

        Assert.Equal(40, _run.All.OfType<E.Charge>().Single().Bytes);
        Assert.Equal([(1u, 1), (3u, 1)], _run.Last.OfType<E.Parse>().Select(p => (p.Email.Uid, p.Attempt)));
        Assert.Equal(Timeout, _run.Last.OfType<E.ScheduleDeadline>().Single().Delay);
        var commit = StageAll(batch, 1, 3);
        Assert.Empty(_run.Do(l => l.Committed(commit.CommitId, new CommitTally(2, 0, 0))).OfType<E.AdvanceCursor>());
        var advance = _run.Do(l => l.Quarantined(batch, 2)).OfType<E.AdvanceCursor>().Single();
        Assert.Equal([1u, 2u, 3u], advance.Uids);
        Assert.Equal(1, advance.Quarantined);

        var settled = _run.All.OfType<E.Settle>().ToList();
        Assert.Equal([1u, 2u, 3u], settled.SelectMany(s => s.Uids).Order());
        Assert.Equal(40, settled.Sum(s => s.Bytes));
        var done = _run.Do(l => l.CursorAdvanced(batch)).OfType<E.BatchDone>().Single();
        Assert.Equal((2, 1, 0), (done.Fetched, done.Quarantined, done.Gone));
    }

    [Fact]
    public void A_uid_left_out_of_the_answer_that_the_server_still_has_is_retried_then_quarantined_at_fetch_and_one_it_no_longer_has_is_gone()
    {
        var batch = _run.Do(l => l.Open(7, [1, 2, 3])).OfType<E.Fetch>().Single().BatchId;
        var retry = _run.Do(l => l.Fetched(batch, [Email(1)], [2], T0)).OfType<E.ScheduleRetry>().Single();
        Assert.Equal((2u, 1, BatchLedger.FetchStage), (retry.Uid, retry.FailedAttempt, retry.Stage));
        Assert.DoesNotContain(_run.All, e => e is E.Parse or E.Settle);
        for (var attempt = 2; attempt <= 3; attempt++)
        {
            _run.Do(l => l.RetryDue(batch, 2, T0));
            _run.Do(l => l.Fetched(batch, [], [2], T0));
        }

        var quarantine = _run.Last.OfType<E.QuarantineUnserved>().Single();
        Assert.Equal((2u, 3), (quarantine.Uid, quarantine.Attempts));
        Assert.Contains("UID SEARCH", quarantine.Error, StringComparison.Ordinal);
        Assert.Equal([3u], _run.Last.OfType<E.Settle>().Single().Uids);
        Assert.Equal([1u], _run.Last.OfType<E.Parse>().Select(p => p.Email.Uid));
    }

    [Fact]
    public void An_answer_to_no_fetch_out_changes_nothing_and_its_emails_are_disposed()
    {
        var batch = Fetched(1);
        Assert.Empty(_run.Do(l => l.FetchRefused(batch, "NO", T0)));
        Assert.Empty(_run.Do(l => l.FetchRefused(99, "NO", T0)));
        var late = Assert.IsType<E.Settle>(Assert.Single(_run.Do(l => l.Fetched(batch, [Email(5)], T0))));
        Assert.Empty(late.Uids);
        Assert.Equal(5u, late.Emails.Single().Uid);
    }

    [Fact]
    public void The_same_events_at_the_same_times_give_the_same_effects()
    {
        var emails = new[] { Email(1), Email(2) };
        IReadOnlyList<ILedgerEffect> Play()
        {
            var run = new Run(new LedgerRules(3, Backoff, Timeout));
            var id = run.Do(l => l.Open(7, [1, 2])).OfType<E.Fetch>().Single().BatchId;
            run.Do(l => l.Fetched(id, emails, T0));
            run.Do(l => l.Failed(id, 1, 1, "parse", "x"));
            run.Do(l => l.DeadlineDue(id, T0 + Timeout));
            run.Do(l => l.RetryDue(id, 1, T0 + Timeout));
            return run.All;
        }

        Assert.Equal(Play(), Play(), new EffectComparer());
    }

    /// <summary>Effects compare by value, their lists by content.</summary>
    private sealed class EffectComparer : IEqualityComparer<ILedgerEffect>
    {
        public bool Equals(ILedgerEffect? x, ILedgerEffect? y) => x?.ToString() == y?.ToString() && x?.GetType() == y?.GetType()
            && (x is not E.Fetch fx || fx.Uids.SequenceEqual(((E.Fetch)y!).Uids));

        public int GetHashCode(ILedgerEffect obj) => obj.GetType().GetHashCode();
    }

    /// <summary>Plays events into a ledger and keeps the effects.</summary>
    private sealed class Run(LedgerRules rules)
    {
        public BatchLedger Ledger { get; private set; } = BatchLedger.Empty(rules);

        public List<ILedgerEffect> All { get; } = [];

        public IReadOnlyList<ILedgerEffect> Last { get; private set; } = [];

        public IReadOnlyList<ILedgerEffect> Do(Func<BatchLedger, LedgerStep> handle)
        {
            var step = handle(Ledger);
            Ledger = step.Ledger;
            Last = step.Effects;
            All.AddRange(step.Effects);
            return step.Effects;
        }
    }
}
