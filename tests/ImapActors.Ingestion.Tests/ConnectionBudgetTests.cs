using ImapActors.Ingestion.Connections;

namespace ImapActors.Ingestion.Tests;

/// <summary>The rules of an asset's connection budget, one test per rule, with strings standing for folders' mailboxes.</summary>
public class ConnectionBudgetTests
{
    private ConnectionBudget<string> _budget = ConnectionBudget.Of<string>(2);

    private List<(string, BudgetNotice)> Do(Func<ConnectionBudget<string>, BudgetStep<string>> handle)
    {
        var step = handle(_budget);
        _budget = step.Budget;
        return step.Effects.Select(e => (e.Holder, e.Notice)).ToList();
    }

    [Fact]
    public void Connections_are_granted_up_to_the_limit_and_the_rest_wait_in_order()
    {
        Assert.Equal([("a", BudgetNotice.Granted)], Do(b => b.Acquire("a")));
        Assert.Equal([("b", BudgetNotice.Granted)], Do(b => b.Acquire("b")));
        Assert.Empty(Do(b => b.Acquire("c")));
        Assert.Empty(Do(b => b.Acquire("d")));
        Assert.Equal([("c", BudgetNotice.Granted)], Do(b => b.Release("b")));
        Assert.Equal([("d", BudgetNotice.Granted)], Do(b => b.Release("a")));
    }

    [Fact]
    public void A_resting_holder_is_asked_to_yield_once_for_each_mailbox_waiting()
    {
        Do(b => b.Acquire("a"));
        Do(b => b.Acquire("b"));
        Do(b => b.Rest("a"));
        Do(b => b.Rest("b"));
        Assert.Equal([("a", BudgetNotice.Yield)], Do(b => b.Acquire("c")));
        Assert.Empty(Do(b => b.Rest("a")));
        Assert.Equal([("b", BudgetNotice.Yield)], Do(b => b.Acquire("d")));
        Assert.Equal([("c", BudgetNotice.Granted)], Do(b => b.Release("a")));
    }

    [Fact]
    public void A_holder_that_rests_while_others_wait_is_asked_at_once_and_a_busy_one_never()
    {
        Do(b => b.Acquire("a"));
        Do(b => b.Acquire("b"));
        Assert.Empty(Do(b => b.Acquire("c")));
        Do(b => b.Rest("a"));
        Assert.Equal(["b"], _budget.Holders.Except(_budget.Yielding).Except(["a"]));
        Do(b => b.Busy("b"));
        Assert.Contains("a", _budget.Yielding);
        Assert.DoesNotContain("b", _budget.Resting);
    }

    [Fact]
    public void Asking_again_while_holding_grants_at_once_and_counts_once()
    {
        Do(b => b.Acquire("a"));
        Do(b => b.Rest("a"));
        Assert.Equal([("a", BudgetNotice.Granted)], Do(b => b.Acquire("a")));
        Assert.Single(_budget.Holders);
        Assert.Empty(_budget.Resting);
    }

    [Fact]
    public void Too_many_connections_lowers_the_limit_to_those_that_work_and_the_refused_one_waits_first()
    {
        _budget = ConnectionBudget.Of<string>(4);
        foreach (var h in new[] { "a", "b", "c" })
        {
            Do(b => b.Acquire(h));
        }

        Do(b => b.Acquire("d"));
        Assert.Empty(Do(b => b.Acquire("e")));
        Assert.Empty(Do(b => b.Refused("c")));
        Assert.Equal(3, _budget.Limit);
        Assert.Equal(["c", "e"], _budget.Queue);
        Assert.Equal([("c", BudgetNotice.Granted)], Do(b => b.Release("a")));
    }

    [Fact]
    public void Even_a_refused_only_connection_keeps_a_limit_of_one()
    {
        Do(b => b.Acquire("a"));
        Assert.Equal([("a", BudgetNotice.Granted)], Do(b => b.Refused("a")));
        Assert.Equal(1, _budget.Limit);
    }

    [Fact]
    public void A_stopped_mailbox_leaves_the_queue_and_gives_its_connection_back()
    {
        Do(b => b.Acquire("a"));
        Do(b => b.Acquire("b"));
        Do(b => b.Acquire("c"));
        Do(b => b.Acquire("d"));
        Do(b => b.Release("c"));
        Assert.Equal([("d", BudgetNotice.Granted)], Do(b => b.Release("a")));
    }

    [Fact]
    public void Whatever_the_order_of_events_no_more_than_the_limit_hold_a_connection()
    {
        var random = new Random(5);
        var holders = Enumerable.Range(0, 8).Select(i => "f" + i).ToArray();
        for (var round = 0; round < 5_000; round++)
        {
            var h = holders[random.Next(holders.Length)];
            Do(random.Next(4) switch
            {
                0 => b => b.Acquire(h),
                1 => b => b.Rest(h),
                2 => b => b.Busy(h),
                _ => b => b.Release(h),
            });
            Assert.True(_budget.Holders.Count <= _budget.Limit, $"{_budget.Holders.Count} connections at round {round}");
            Assert.True(_budget.Yielding.IsSubsetOf(_budget.Holders));
        }
    }

    [Fact]
    public void A_new_share_raises_or_lowers_the_limit_within_one_and_the_configured_number()
    {
        Do(b => b.Acquire("a"));
        Do(b => b.Acquire("b"));
        Assert.Empty(Do(b => b.Acquire("c")));

        // A cluster node's share of the asset's connections drops to one: the next free connection stays free.
        Do(b => b.Resize(1));
        Assert.Equal(1, _budget.Limit);
        Assert.Empty(Do(b => b.Release("a")));
        Assert.Equal([("c", BudgetNotice.Granted)], Do(b => b.Release("b")));

        // Raised again, but never above max_connections nor below one.
        Assert.Empty(Do(b => b.Acquire("d")));
        Assert.Equal([("d", BudgetNotice.Granted)], Do(b => b.Resize(5)));
        Assert.Equal(_budget.Configured, _budget.Limit);
        Do(b => b.Resize(0));
        Assert.Equal(1, _budget.Limit);
    }
}
