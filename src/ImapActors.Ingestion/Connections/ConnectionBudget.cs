using System.Collections.Immutable;

namespace ImapActors.Ingestion.Connections;

/// <summary>What the budget tells a holder.</summary>
public enum BudgetNotice
{
    /// <summary>The holder may connect now.</summary>
    Granted,

    /// <summary>Another holder waits: give the resting connection up (LOGOUT) and release it.</summary>
    Yield,
}

/// <summary>A notice for one holder.</summary>
public sealed record BudgetEffect<THolder>(THolder Holder, BudgetNotice Notice);

/// <summary>The budget after an event, and what it tells whom.</summary>
public sealed record BudgetStep<THolder>(ConnectionBudget<THolder> Budget, IReadOnlyList<BudgetEffect<THolder>> Effects)
    where THolder : notnull;

/// <summary>Opens budgets.</summary>
public static class ConnectionBudget
{
    /// <summary>A budget of <paramref name="limit"/> connections, none in use.</summary>
    public static ConnectionBudget<THolder> Of<THolder>(int limit)
        where THolder : notnull
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return new(limit, limit, [], [], [], []);
    }
}

/// <summary>
/// The IMAP connections of one asset, shared by its folders: at most <see cref="Limit"/> at once. A folder's mailbox
/// asks before it connects and is served first come, first served. Between polls a holder rests (its connection kept,
/// in IDLE when the server offers it); when others wait and no connection is free, resting holders are asked to yield,
/// one per waiting mailbox, so folders that outnumber the connections are polled in turn while as many as the budget
/// allows stay connected. A server's "too many connections" answer lowers the limit to the connections that worked.
/// Pure and deterministic.
/// </summary>
/// <param name="Limit">Connections allowed now.</param>
/// <param name="Configured">The asset's <c>max_connections</c>.</param>
/// <param name="Holders">Mailboxes holding a connection (or connecting).</param>
/// <param name="Resting">Holders between polls, whose connection could be given up, the longest resting first.</param>
/// <param name="Yielding">Holders asked to give their connection up, not yet released.</param>
/// <param name="Queue">Mailboxes waiting, in order.</param>
public sealed record ConnectionBudget<THolder>(
    int Limit,
    int Configured,
    ImmutableHashSet<THolder> Holders,
    ImmutableList<THolder> Resting,
    ImmutableHashSet<THolder> Yielding,
    ImmutableList<THolder> Queue)
    where THolder : notnull
{
    /// <summary><paramref name="holder"/> wants to connect.</summary>
    public BudgetStep<THolder> Acquire(THolder holder)
    {
        if (Holders.Contains(holder))
        {
            // Already holds one (asked again after a restart of its poll): it is busy now.
            return new(this with { Resting = Resting.Remove(holder) }, [new(holder, BudgetNotice.Granted)]);
        }

        var budget = Queue.Contains(holder) ? this : this with { Queue = Queue.Add(holder) };
        return budget.Pump();
    }

    /// <summary>The holder is between polls: its connection may be given up if someone waits.</summary>
    public BudgetStep<THolder> Rest(THolder holder) =>
        Holders.Contains(holder) && !Resting.Contains(holder) && !Yielding.Contains(holder)
            ? (this with { Resting = Resting.Add(holder) }).Pump()
            : new(this, []);

    /// <summary>The holder started a poll on its connection; an ask to yield it had not answered yet is void.</summary>
    public BudgetStep<THolder> Busy(THolder holder) =>
        (this with { Resting = Resting.Remove(holder), Yielding = Yielding.Remove(holder) }).Pump();

    /// <summary>The holder closed its connection (or stopped, or waits no more).</summary>
    public BudgetStep<THolder> Release(THolder holder) =>
        (this with
        {
            Holders = Holders.Remove(holder),
            Resting = Resting.Remove(holder),
            Yielding = Yielding.Remove(holder),
            Queue = Queue.Remove(holder),
        }).Pump();

    /// <summary>
    /// The server refused the holder's connection as one too many: the limit becomes the connections that work (at least
    /// one), and the holder waits at the head of the queue.
    /// </summary>
    public BudgetStep<THolder> Refused(THolder holder)
    {
        var others = Holders.Remove(holder);
        return (this with
        {
            Limit = Math.Max(1, Math.Min(Limit, others.Count)),
            Holders = others,
            Resting = Resting.Remove(holder),
            Yielding = Yielding.Remove(holder),
            Queue = Queue.Remove(holder).Insert(0, holder),
        }).Pump();
    }

    /// <summary>
    /// This node's share of the asset's connections changed (a cluster node runs some of its folders): the limit becomes
    /// <paramref name="limit"/>, between one and <see cref="Configured"/>, replacing a limit a refusal lowered.
    /// </summary>
    public BudgetStep<THolder> Resize(int limit) =>
        (this with { Limit = Math.Clamp(limit, 1, Configured) }).Pump();

    /// <summary>Grants to the head of the queue while connections are free; then asks resting holders to yield for the rest.</summary>
    private BudgetStep<THolder> Pump()
    {
        var budget = this;
        var effects = new List<BudgetEffect<THolder>>();
        while (!budget.Queue.IsEmpty && budget.Holders.Count < budget.Limit)
        {
            var next = budget.Queue[0];
            budget = budget with { Queue = budget.Queue.RemoveAt(0), Holders = budget.Holders.Add(next) };
            effects.Add(new(next, BudgetNotice.Granted));
        }

        // One yield asked per waiting mailbox, beyond what the connections over the limit (after a refusal) will free.
        var freed = budget.Yielding.Count + Math.Max(0, budget.Holders.Count - budget.Limit);
        foreach (var resting in budget.Resting.Take(Math.Max(0, budget.Queue.Count - freed)).ToList())
        {
            budget = budget with { Resting = budget.Resting.Remove(resting), Yielding = budget.Yielding.Add(resting) };
            effects.Add(new(resting, BudgetNotice.Yield));
        }

        return new(budget, effects);
    }
}
