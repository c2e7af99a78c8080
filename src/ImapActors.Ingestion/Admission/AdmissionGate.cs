using System.Collections.Immutable;

namespace ImapActors.Ingestion.Admission;

/// <summary>The node-wide bounds on emails and bytes fetched but not yet settled (committed, quarantined or gone).</summary>
public sealed record AdmissionLimits(int MaxEmails, long MaxBytes);

/// <summary>What one holder (a mailbox) has of the gate: credit in use, a grant not yet fetched, a request waiting.</summary>
/// <param name="Emails">Emails granted and not yet given back (fetched or being fetched).</param>
/// <param name="Bytes">Bytes of fetched emails not yet given back.</param>
/// <param name="Unsized">Emails of the grant being fetched, whose sizes are not known yet.</param>
/// <param name="Reserved">Bytes set aside for <paramref name="Unsized"/> by the size estimate.</param>
/// <param name="Wanted">Emails of the request waiting in the queue; 0 when none.</param>
public sealed record AdmissionHolding(int Emails, long Bytes, int Unsized, long Reserved, int Wanted)
{
    public static AdmissionHolding None { get; } = new(0, 0, 0, 0, 0);

    public bool IsEmpty => this == None;
}

/// <summary>Credit for <paramref name="Emails"/> emails, given to <paramref name="Holder"/>.</summary>
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
        return new(limits, ImmutableDictionary<THolder, AdmissionHolding>.Empty, ImmutableQueue<THolder>.Empty, ImmutableQueue<long>.Empty,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    }
}

/// <summary>
/// The gate's figures, peaks included, for status and tests. <c>PeakUnsized</c> is the most emails granted and not yet
/// fetched at once (their sizes unknown); <c>LargestEmail</c> the largest email charged so far.
/// </summary>
public sealed record AdmissionStats(int MaxEmails, long MaxBytes, int Emails, long Bytes, int Waiting, int PeakEmails, long PeakBytes,
    int PeakUnsized, long LargestEmail, long Grants, long Waits);

/// <summary>
/// Credit for emails and bytes in flight across every mailbox of the process. A mailbox asks for credit before it
/// fetches; a grant counts its emails at once, and their bytes once the fetch is charged (RFC822.SIZE comes with the
/// message). Credit comes back UID by UID as each is settled. Pure and deterministic.
/// </summary>
/// <remarks>
/// Rules: requests are served first come, first served, and none overtakes the one at the head, so a waiting mailbox is
/// served as soon as credit frees and never starves. A grant keeps the emails in flight within
/// <see cref="AdmissionLimits.MaxEmails"/>. No grant is given while the bytes in flight and those set aside reach
/// <see cref="AdmissionLimits.MaxBytes"/>; below it, a grant is cut to the emails that fit if each is as large as the
/// largest of the last <see cref="EstimateWindow"/> fetches. Until a first fetch is charged no size is known, and that
/// first grant goes alone. When nothing at all is in flight the head is always served (with one email at least), so an
/// email larger than the whole limit is admitted alone instead of waiting forever.
/// <para>
/// Sizes are known only after the fetch, so the byte bound is not strict: every grant is given while the bytes in flight,
/// those set aside and the grant's own estimate fit, so bytes in flight exceed <see cref="AdmissionLimits.MaxBytes"/>
/// only by the bytes of the emails whose fetches were out together at the last grant:
/// at most <see cref="AdmissionStats.PeakUnsized"/> × <see cref="AdmissionStats.LargestEmail"/>, and nothing when no
/// email is larger than the estimate. A strict bound needs the sizes before the fetch (<c>UID FETCH (RFC822.SIZE)</c>).
/// </para>
/// </remarks>
public sealed record AdmissionGate<THolder>(
    AdmissionLimits Limits,
    ImmutableDictionary<THolder, AdmissionHolding> Holdings,
    ImmutableQueue<THolder> Queue,
    ImmutableQueue<long> RecentLargest,
    int Emails,
    long Bytes,
    long Reserved,
    int Unsized,
    int PeakEmails,
    long PeakBytes,
    int PeakUnsized,
    long LargestEmail,
    long Grants,
    long Waits)
    where THolder : notnull
{
    /// <summary>How many recent fetches the size estimate looks back on.</summary>
    public const int EstimateWindow = 64;

    /// <summary>The largest email of the recent fetches, or null before any fetch was charged.</summary>
    public long? SizeEstimate => RecentLargest.IsEmpty ? null : RecentLargest.Max();

    public AdmissionStats Stats => new(Limits.MaxEmails, Limits.MaxBytes, Emails, Bytes,
        Holdings.Values.Count(h => h.Wanted > 0), PeakEmails, PeakBytes, PeakUnsized, LargestEmail, Grants, Waits);

    public AdmissionHolding HoldingOf(THolder holder) => Holdings.GetValueOrDefault(holder, AdmissionHolding.None);

    /// <summary><paramref name="holder"/> asks for credit for up to <paramref name="emails"/> emails (its next fetch).</summary>
    public AdmissionStep<THolder> Request(THolder holder, int emails)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(emails, 1);
        var holding = HoldingOf(holder);
        var gate = this with
        {
            Holdings = Holdings.SetItem(holder, holding with { Wanted = emails }),
            Queue = holding.Wanted > 0 ? Queue : Queue.Enqueue(holder),
        };
        var step = gate.Pump();
        return step.Grants.Any(g => g.Holder.Equals(holder)) ? step : step with { Gate = step.Gate with { Waits = step.Gate.Waits + 1 } };
    }

    /// <summary>The holder no longer wants its waiting request, nor the grant it has not fetched.</summary>
    public AdmissionStep<THolder> Cancel(THolder holder)
    {
        var h = HoldingOf(holder);
        return Put(holder, h with { Emails = h.Emails - h.Unsized, Unsized = 0, Reserved = 0, Wanted = 0 },
            emails: -h.Unsized, bytes: 0, reserved: -h.Reserved, unsized: -h.Unsized).Pump();
    }

    /// <summary>The holder's grant was fetched: its emails hold <paramref name="bytes"/>, the largest <paramref name="largestEmail"/>.</summary>
    public AdmissionStep<THolder> Charge(THolder holder, long bytes, long largestEmail)
    {
        var h = HoldingOf(holder);
        var gate = Put(holder, h with { Bytes = h.Bytes + bytes, Unsized = 0, Reserved = 0 }, emails: 0, bytes: bytes, reserved: -h.Reserved,
            unsized: -h.Unsized);
        if (largestEmail > 0)
        {
            var recent = gate.RecentLargest.Enqueue(largestEmail);
            gate = gate with
            {
                RecentLargest = recent.Count() > EstimateWindow ? recent.Dequeue() : recent,
                LargestEmail = Math.Max(gate.LargestEmail, largestEmail),
            };
        }

        return (gate with { PeakBytes = Math.Max(gate.PeakBytes, gate.Bytes) }).Pump();
    }

    /// <summary>The holder gives back credit for <paramref name="emails"/> settled emails of <paramref name="bytes"/> bytes.</summary>
    public AdmissionStep<THolder> Release(THolder holder, int emails, long bytes)
    {
        var h = HoldingOf(holder);
        var e = Math.Clamp(emails, 0, h.Emails - h.Unsized);
        var b = Math.Clamp(bytes, 0, h.Bytes);
        return Put(holder, h with { Emails = h.Emails - e, Bytes = h.Bytes - b }, emails: -e, bytes: -b, reserved: 0, unsized: 0).Pump();
    }

    /// <summary>The holder is gone (a mailbox stopped or crashed): everything it held comes back.</summary>
    public AdmissionStep<THolder> Remove(THolder holder)
    {
        var h = HoldingOf(holder);
        return Put(holder, AdmissionHolding.None, emails: -h.Emails, bytes: -h.Bytes, reserved: -h.Reserved, unsized: -h.Unsized).Pump();
    }

    private AdmissionGate<THolder> Put(THolder holder, AdmissionHolding holding, int emails, long bytes, long reserved, int unsized) => this with
    {
        Holdings = holding.IsEmpty ? Holdings.Remove(holder) : Holdings.SetItem(holder, holding),
        Emails = Emails + emails,
        Bytes = Bytes + bytes,
        Reserved = Reserved + reserved,
        Unsized = Unsized + unsized,
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
            if (holding.Wanted == 0)
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

            var estimate = gate.SizeEstimate ?? 0;
            gate = gate.Put(holder, holding with
            {
                Emails = holding.Emails + emails,
                Unsized = holding.Unsized + emails,
                Reserved = holding.Reserved + emails * estimate,
                Wanted = 0,
            }, emails: emails, bytes: 0, reserved: emails * estimate, unsized: emails);
            gate = gate with
            {
                Queue = gate.Queue.Dequeue(),
                PeakEmails = Math.Max(gate.PeakEmails, gate.Emails),
                PeakUnsized = Math.Max(gate.PeakUnsized, gate.Unsized),
                Grants = gate.Grants + 1,
            };
            grants.Add(new AdmissionGrant<THolder>(holder, emails));
        }

        return new AdmissionStep<THolder>(gate, grants);
    }

    /// <summary>How many of <paramref name="wanted"/> emails the head of the queue may have now; 0 means it waits.</summary>
    private int Admissible(int wanted)
    {
        var want = Math.Min(wanted, Limits.MaxEmails);
        var estimate = SizeEstimate;
        if (Emails == 0 && Bytes == 0)
        {
            // Nothing in flight: serve the head whatever its size, or the engine would wait forever.
            return estimate is { } alone ? (int)Math.Clamp(Limits.MaxBytes / alone, 1, want) : want;
        }

        if (Emails + want > Limits.MaxEmails || estimate is not { } size)
        {
            // Over the email bound, or the first fetch is still out and no size is known yet.
            return 0;
        }

        var room = Limits.MaxBytes - Bytes - Reserved;
        return room <= 0 ? 0 : (int)Math.Min(want, room / size);
    }
}
