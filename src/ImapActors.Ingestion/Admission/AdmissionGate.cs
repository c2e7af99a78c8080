using System.Collections.Immutable;

namespace ImapActors.Ingestion.Admission;

/// <summary>The node-wide bounds on emails and bytes fetched but not yet settled (committed, quarantined or gone).</summary>
public sealed record AdmissionLimits(int MaxEmails, long MaxBytes);

/// <summary>What one holder (a mailbox) has of the gate: credit in use, a grant not yet fetched, a request waiting.</summary>
/// <param name="Emails">Emails granted and not yet given back (fetched or being fetched).</param>
/// <param name="Bytes">Bytes of fetched emails not yet given back.</param>
/// <param name="Pending">Emails of the grant being fetched.</param>
/// <param name="Reserved">Bytes of <paramref name="Pending"/>, by the sizes the server gave before the fetch.</param>
/// <param name="Wanted">Sizes of the emails of the request waiting in the queue, in fetch order; empty when none.</param>
public sealed record AdmissionHolding(int Emails, long Bytes, int Pending, long Reserved, ImmutableArray<long> Wanted)
{
    public static AdmissionHolding None { get; } = new(0, 0, 0, 0, []);

    public bool IsWaiting => !Wanted.IsDefaultOrEmpty;

    public bool IsEmpty => Emails == 0 && Bytes == 0 && Pending == 0 && Reserved == 0 && !IsWaiting;
}

/// <summary>Credit for the first <paramref name="Emails"/> emails of the request, given to <paramref name="Holder"/>.</summary>
public sealed record AdmissionGrant<THolder>(THolder Holder, int Emails);

/// <summary>The gate after an event, and the grants it gives.</summary>
public sealed record AdmissionStep<THolder>(AdmissionGate<THolder> Gate, IReadOnlyList<AdmissionGrant<THolder>> Grants)
    where THolder : notnull;

/// <summary>Opens gates.</summary>
public static class AdmissionGate
{
    /// <summary>A gate with nothing in flight.</summary>
    public static AdmissionGate<THolder> Open<THolder>(AdmissionLimits limits)
        where THolder : notnull
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxEmails, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limits.MaxBytes, 1);
        return new(limits, ImmutableDictionary<THolder, AdmissionHolding>.Empty, ImmutableQueue<THolder>.Empty, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}

/// <summary>
/// The gate's figures, peaks included, for status and tests. <c>Bytes</c> are the bytes of fetched emails held,
/// <c>Reserved</c> those of granted emails not fetched yet; <c>BytesCharged</c> is the total of every fetch charged.
/// </summary>
public sealed record AdmissionStats(int MaxEmails, long MaxBytes, int Emails, long Bytes, long Reserved, int Waiting, int PeakEmails,
    long PeakBytes, long LargestEmail, long BytesCharged, long Grants, long Waits);

/// <summary>
/// Credit for emails and bytes in flight across every mailbox of the process. A mailbox asks for credit before it
/// fetches, giving the sizes of the emails it wants (RFC822.SIZE, asked for before the bodies); a grant counts its
/// emails and sets their bytes aside at once, the fetch then charges the bytes it brought in place of those set aside,
/// and credit comes back UID by UID as each email is settled. Pure and deterministic.
/// </summary>
/// <remarks>
/// Rules: requests are served first come, first served, and none overtakes the one at the head, so a waiting mailbox is
/// served as soon as credit frees and never starves. A request is granted whole on the email bound
/// (<see cref="AdmissionLimits.MaxEmails"/>), and cut on the byte bound to the first emails whose sizes fit beside the
/// bytes in flight and those set aside, so the bytes in flight never exceed <see cref="AdmissionLimits.MaxBytes"/>.
/// The one exception: when nothing at all is in flight the head is always served with its first email, so an email
/// larger than the whole limit is admitted alone instead of waiting forever.
/// </remarks>
public sealed record AdmissionGate<THolder>(
    AdmissionLimits Limits,
    ImmutableDictionary<THolder, AdmissionHolding> Holdings,
    ImmutableQueue<THolder> Queue,
    int Emails,
    long Bytes,
    long Reserved,
    int PeakEmails,
    long PeakBytes,
    long LargestEmail,
    long BytesCharged,
    long Grants,
    long Waits)
    where THolder : notnull
{
    public AdmissionStats Stats => new(Limits.MaxEmails, Limits.MaxBytes, Emails, Bytes, Reserved, Holdings.Values.Count(h => h.IsWaiting),
        PeakEmails, PeakBytes, LargestEmail, BytesCharged, Grants, Waits);

    /// <summary>Nothing is held, set aside or being fetched.</summary>
    public bool IsIdle => Emails == 0 && Bytes == 0 && Reserved == 0;

    public AdmissionHolding HoldingOf(THolder holder) => Holdings.GetValueOrDefault(holder, AdmissionHolding.None);

    /// <summary>
    /// <paramref name="holder"/> asks for credit for its next fetch: emails of <paramref name="sizes"/> bytes, in the order
    /// it fetches them. A grant is for the first emails of the list.
    /// </summary>
    public AdmissionStep<THolder> Request(THolder holder, IReadOnlyList<long> sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentOutOfRangeException.ThrowIfLessThan(sizes.Count, 1);
        var holding = HoldingOf(holder);
        var gate = this with
        {
            Holdings = Holdings.SetItem(holder, holding with { Wanted = [.. sizes.Select(s => Math.Max(0, s))] }),
            Queue = holding.IsWaiting ? Queue : Queue.Enqueue(holder),
        };
        var step = gate.Pump();
        return step.Grants.Any(g => g.Holder.Equals(holder)) ? step : step with { Gate = step.Gate with { Waits = step.Gate.Waits + 1 } };
    }

    /// <summary>The holder no longer wants its waiting request, nor the grant it has not fetched.</summary>
    public AdmissionStep<THolder> Cancel(THolder holder)
    {
        var h = HoldingOf(holder);
        return Put(holder, h with { Emails = h.Emails - h.Pending, Pending = 0, Reserved = 0, Wanted = [] },
            emails: -h.Pending, bytes: 0, reserved: -h.Reserved).Pump();
    }

    /// <summary>The holder's grant was fetched and its emails hold <paramref name="bytes"/> (fewer when some were gone).</summary>
    public AdmissionStep<THolder> Charge(THolder holder, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var h = HoldingOf(holder);
        var gate = Put(holder, h with { Bytes = h.Bytes + bytes, Pending = 0, Reserved = 0 }, emails: 0, bytes: bytes, reserved: -h.Reserved);
        return (gate with { PeakBytes = Math.Max(gate.PeakBytes, gate.Bytes), BytesCharged = gate.BytesCharged + bytes }).Pump();
    }

    /// <summary>The holder gives back credit for <paramref name="emails"/> settled emails of <paramref name="bytes"/> bytes.</summary>
    public AdmissionStep<THolder> Release(THolder holder, int emails, long bytes)
    {
        var h = HoldingOf(holder);
        var e = Math.Clamp(emails, 0, h.Emails - h.Pending);
        var b = Math.Clamp(bytes, 0, h.Bytes);
        return Put(holder, h with { Emails = h.Emails - e, Bytes = h.Bytes - b }, emails: -e, bytes: -b, reserved: 0).Pump();
    }

    /// <summary>The holder is gone (a mailbox stopped or crashed): everything it held comes back.</summary>
    public AdmissionStep<THolder> Remove(THolder holder)
    {
        var h = HoldingOf(holder);
        return Put(holder, AdmissionHolding.None, emails: -h.Emails, bytes: -h.Bytes, reserved: -h.Reserved).Pump();
    }

    private AdmissionGate<THolder> Put(THolder holder, AdmissionHolding holding, int emails, long bytes, long reserved) => this with
    {
        Holdings = holding.IsEmpty ? Holdings.Remove(holder) : Holdings.SetItem(holder, holding),
        Emails = Emails + emails,
        Bytes = Bytes + bytes,
        Reserved = Reserved + reserved,
    };

    /// <summary>Serves the queue from its head while credit allows.</summary>
    private AdmissionStep<THolder> Pump()
    {
        var gate = this;
        var grants = new List<AdmissionGrant<THolder>>();
        while (!gate.Queue.IsEmpty)
        {
            var holder = gate.Queue.Peek();
            var holding = gate.HoldingOf(holder);
            if (!holding.IsWaiting)
            {
                // Cancelled or removed while waiting.
                gate = gate with { Queue = gate.Queue.Dequeue() };
                continue;
            }

            var emails = gate.Admissible(holding.Wanted);
            if (emails == 0)
            {
                break;
            }

            var granted = holding.Wanted.Take(emails).ToList();
            var bytes = granted.Sum();
            gate = gate.Put(holder, holding with
            {
                Emails = holding.Emails + emails,
                Pending = holding.Pending + emails,
                Reserved = holding.Reserved + bytes,
                Wanted = [],
            }, emails: emails, bytes: 0, reserved: bytes);
            gate = gate with
            {
                Queue = gate.Queue.Dequeue(),
                PeakEmails = Math.Max(gate.PeakEmails, gate.Emails),
                LargestEmail = Math.Max(gate.LargestEmail, granted.Max()),
                Grants = gate.Grants + 1,
            };
            grants.Add(new AdmissionGrant<THolder>(holder, emails));
        }

        return new AdmissionStep<THolder>(gate, grants);
    }

    /// <summary>How many of the emails of <paramref name="sizes"/> the head of the queue may have now; 0 means it waits.</summary>
    private int Admissible(ImmutableArray<long> sizes)
    {
        var want = Math.Min(sizes.Length, Limits.MaxEmails);
        if (IsIdle)
        {
            // Nothing in flight: the head is served whatever its sizes, or an email above the limit would wait forever.
            return Math.Max(1, Fitting(sizes, want, Limits.MaxBytes));
        }

        return Emails + want > Limits.MaxEmails ? 0 : Fitting(sizes, want, Limits.MaxBytes - Bytes - Reserved);
    }

    /// <summary>How many of the first <paramref name="want"/> sizes fit in <paramref name="room"/> bytes together.</summary>
    private static int Fitting(ImmutableArray<long> sizes, int want, long room)
    {
        var count = 0;
        long total = 0;
        while (count < want && total + sizes[count] <= room)
        {
            total += sizes[count++];
        }

        return count;
    }
}
