namespace ImapActors.Ingestion.Backoff;

/// <summary>Which schedule a failure waits by.</summary>
public enum FailureKind
{
    /// <summary>May pass by itself: the network, a timeout, a server error.</summary>
    Transient,

    /// <summary>Needs a person: a refused login, an untrusted certificate, a missing folder.</summary>
    Refused,
}

/// <summary>One schedule: <paramref name="Min"/> after the first failure, doubled at each one in a row, at most <paramref name="Max"/>.</summary>
public sealed record BackoffSchedule(TimeSpan Min, TimeSpan Max)
{
    /// <summary>The delay after the <paramref name="failures"/>-th failure in a row, before jitter.</summary>
    public TimeSpan After(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        var doubled = Min.Ticks * Math.Pow(2, Math.Min(failures - 1, 40));
        return doubled >= Max.Ticks ? Max : TimeSpan.FromTicks((long)doubled);
    }
}

/// <summary>The next attempt after a failure: when, and which failure in a row it follows.</summary>
public sealed record BackoffStep(FailureBackoff Backoff, TimeSpan Delay, int FailuresInARow);

/// <summary>
/// How long a mailbox waits before it tries again. Failures in a row grow the delay of their kind's schedule however
/// long each attempt lasted, and only a successful poll starts both schedules over, so a login that is refused after a
/// slow handshake backs off as surely as one refused at once. Each kind counts its own failures in a row. A random part
/// of up to <see cref="Jitter"/> of the delay is taken off, never added, so mailboxes that failed together do not try
/// again in step and no delay passes its schedule's maximum. Pure: the caller draws the random number.
/// </summary>
public sealed record FailureBackoff(BackoffSchedule Transient, BackoffSchedule Refused, int TransientFailures, int RefusedFailures)
{
    /// <summary>The share of a delay that jitter may take off.</summary>
    public const double Jitter = 0.2;

    /// <summary>No failure yet.</summary>
    public static FailureBackoff Start(BackoffSchedule transient, BackoffSchedule refused) => new(transient, refused, 0, 0);

    /// <summary>Failures since the last successful poll.</summary>
    public int FailuresInARow => TransientFailures + RefusedFailures;

    /// <summary>A failure of <paramref name="kind"/>; <paramref name="random"/> in [0, 1) picks the jitter.</summary>
    public BackoffStep Failed(FailureKind kind, double random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(random, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(random, 1.0);
        var next = kind == FailureKind.Refused
            ? this with { RefusedFailures = RefusedFailures + 1 }
            : this with { TransientFailures = TransientFailures + 1 };
        var delay = kind == FailureKind.Refused ? Refused.After(next.RefusedFailures) : Transient.After(next.TransientFailures);
        return new BackoffStep(next, delay - delay * (Jitter * random), next.FailuresInARow);
    }

    /// <summary>A poll succeeded: the next failure waits the minimum again.</summary>
    public FailureBackoff Succeeded() => this with { TransientFailures = 0, RefusedFailures = 0 };
}
