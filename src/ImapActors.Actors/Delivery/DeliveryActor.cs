using Akka.Actor;
using Akka.Event;
using System.Collections.Concurrent;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Delivery;

/// <summary>
/// Sends one destination's outbox: the due deliveries oldest container first, at most the destination's concurrency at
/// once. A failed delivery is due again after its backoff (doubled per attempt, jittered, at least the destination's
/// Retry-After) and dead after <see cref="DestinationSettings.MaxAttempts"/> or at once when refused for good. When the
/// destination does not answer at all (every delivery in flight in a row could not connect or timed out), it gets one
/// probe at a time, each after a longer wait, and those probes count against no container: an outage costs a handful of
/// attempts and kills nothing. One per destination per process, or one in the cluster (a singleton).
/// </summary>
public sealed class DeliveryActor : ReceiveActor, IWithTimers
{
    /// <summary>How often an idle destination looks for new deliveries.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a handed-over sender waits for its deliveries in flight.</summary>
    private static readonly TimeSpan FinishWithin = TimeSpan.FromSeconds(8);

    private readonly DestinationSettings _destination;
    private readonly IDeliveryStore _store;
    private readonly IDestinationClient _client;
    private readonly TimeProvider _time;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<long> _inFlight = [];
    private readonly HashSet<long> _settledDuringLoad = [];
    private bool _loading;
    private bool _finishing;
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private int _failuresInARow;
    private int _unreachableInARow;

    /// <summary>
    /// The destination does not serve anyone: two deliveries in a row could not connect or timed out, or one was refused
    /// for its credentials or its address (401, 403, 407, 404, a redirect) or our secret file cannot be read. Then one
    /// probe at a time until that changes, and those attempts do not count against a container, since the failure is
    /// the destination's. Any other answer, even an error, ends it.
    /// </summary>
    private bool Unreachable => _unreachableInARow >= UnreachableAfter;

    /// <summary>Connection failures in a row that make the destination unreachable: two, or one with a concurrency of one.</summary>
    private int UnreachableAfter => Math.Min(2, _destination.Concurrency);

    /// <summary>A sender for <paramref name="destination"/>; <paramref name="client"/> makes each incarnation's client (a restarted actor makes a new one, the old is disposed).</summary>
    public DeliveryActor(DestinationSettings destination, IDeliveryStore store, Func<IDestinationClient> client, TimeProvider? time = null)
    {
        _destination = destination;
        _store = store;
        _client = client();
        _time = time ?? TimeProvider.System;

        Receive<Look>(_ => LookForWork());
        Receive<Finish>(_ =>
        {
            // Handed over (its node leaves the cluster): what is in flight completes and is recorded first, so the next
            // owner starts from the store as this one left it, and no receiver sees a delivery twice for it.
            _finishing = true;
            // Within the cluster-exiting phase (10 s by default), after which the node leaves anyway.
            Timers.StartSingleTimer("finish-deadline", FinishNow.Instance, _destination.Timeout < FinishWithin ? _destination.Timeout : FinishWithin);
            StopWhenIdle();
        });
        Receive<FinishNow>(_ => Context.Stop(Self));
        Receive<Loaded>(OnLoaded);
        Receive<Attempted>(OnAttempted);
        Receive<Settled>(s =>
        {
            _inFlight.Remove(s.Id);
            if (_finishing)
            {
                StopWhenIdle();
                return;
            }

            if (_loading)
            {
                // The page being read may predate this delivery's outcome: it must not start it again.
                _settledDuringLoad.Add(s.Id);
            }

            LookForWork();
        });
        Receive<RecordFailed>(f => Timers.StartSingleTimer("record-" + f.Recording.Id, new RecordAgain(f.Recording, f.Attempt + 1),
            DeliveryBackoff.Delay(_destination.Retry, f.Attempt, Random.Shared.NextDouble())));
        Receive<RecordAgain>(r => Record(r.Recording, r.Attempt));
        Receive<LoadFailed>(f =>
        {
            _loading = false;
            _settledDuringLoad.Clear();
            _log.Warning("Destination {Destination}: reading the outbox failed: {Error}", _destination.Name, f.Error);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(DestinationSettings destination, IDeliveryStore store, Func<IDestinationClient> client, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new DeliveryActor(destination, store, client, time));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer(nameof(Look), Look.Instance, PollInterval);
        Self.Tell(Look.Instance);
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _client.Dispose();
    }

    private void StopWhenIdle()
    {
        if (_inFlight.Count == 0)
        {
            Context.Stop(Self);
        }
    }

    private void LookForWork()
    {
        if (_finishing)
        {
            return;
        }

        var free = (Unreachable ? 1 : _destination.Concurrency) - _inFlight.Count;
        var now = _time.GetUtcNow();
        if (now < _pausedUntil)
        {
            Timers.StartSingleTimer("resume", Look.Instance, _pausedUntil - now);
            return;
        }

        if (_loading || free <= 0)
        {
            return;
        }

        _loading = true;
        // Deliveries in flight are still pending in the store: ask for enough to fill the free slots besides them.
        var limit = free + _inFlight.Count;
        var ct = _stopping.Token;
        _store.DueDeliveriesAsync(_destination.Name, now, limit, ct).PipeTo(Self,
            success: rows => new Loaded(rows, limit),
            failure: e => new LoadFailed(e.GetBaseException().Message));
    }

    private void OnLoaded(Loaded loaded)
    {
        _loading = false;
        if (_finishing)
        {
            _settledDuringLoad.Clear();
            StopWhenIdle();
            return;
        }

        var started = 0;
        var slots = Unreachable ? 1 : _destination.Concurrency;
        if (_time.GetUtcNow() < _pausedUntil)
        {
            // Paused since the page was asked for (a Retry-After, the destination unreachable).
            _settledDuringLoad.Clear();
            LookForWork();
            return;
        }

        foreach (var delivery in loaded.Rows)
        {
            if (_inFlight.Count >= slots)
            {
                break;
            }

            if (_settledDuringLoad.Contains(delivery.Id) || !_inFlight.Add(delivery.Id))
            {
                continue;
            }

            started++;
            var ct = _stopping.Token;
            _client.DeliverAsync(delivery, ct).PipeTo(Self,
                success: outcome => new Attempted(delivery, outcome),
                failure: e => new Attempted(delivery, DeliveryOutcome.Failure("error", e.GetBaseException().Message, retryable: true)));
        }

        _settledDuringLoad.Clear();

        // A full page may have more behind it; what is in flight asks again when it settles.
        if (started == 0 && loaded.Rows.Count == loaded.Limit && _inFlight.Count < slots)
        {
            Self.Tell(Look.Instance);
        }
    }

    private void OnAttempted(Attempted attempted)
    {
        var (delivery, outcome) = attempted;
        if (!_inFlight.Contains(delivery.Id))
        {
            // Started by an earlier incarnation of this actor: the store still has it pending, and it is sent again.
            return;
        }

        var now = _time.GetUtcNow();
        Func<Task> write;
        if (outcome.Delivered)
        {
            DeliveryStats.Attempted(_destination.Name, "delivered");
            if (_failuresInARow > 0)
            {
                _log.Info("Destination {Destination} is delivering again after {Failures} failed attempts in a row", _destination.Name, _failuresInARow);
            }

            _failuresInARow = 0;
            _unreachableInARow = 0;
            write = () => _store.MarkDeliveredAsync(delivery.Id, outcome.RemoteId, CancellationToken.None);
        }
        else
        {
            // Not the container's fault: the destination does not answer, or refuses everyone (a revoked token, a proxy).
            var transport = outcome.Cause is "connect" or "timeout";
            var everyone = outcome.Cause is "auth" or "misrouted" or "secret";
            var probe = everyone || (Unreachable && transport);
            _unreachableInARow = everyone ? Math.Max(_unreachableInARow + 1, UnreachableAfter) : transport ? _unreachableInARow + 1 : 0;
            var attempts = probe ? delivery.Attempts : delivery.Attempts + 1;
            var dead = !outcome.Retryable || attempts >= _destination.MaxAttempts;
            DeliveryStats.Attempted(_destination.Name, dead ? "dead" : "failed");
            DeliveryStats.Failed(_destination.Name, outcome.Cause ?? "error");
            var wait = DeliveryBackoff.Delay(_destination.Retry, Math.Max(1, attempts), Random.Shared.NextDouble());
            if (outcome.RetryAfter is { } asked)
            {
                // The destination's word, within the schedule's maximum: a Retry-After of a day does not stop it for a day.
                var retryAfter = asked > _destination.Retry.Max ? _destination.Retry.Max : asked;
                wait = retryAfter > wait ? retryAfter : wait;
                _pausedUntil = Later(_pausedUntil, now + retryAfter);
            }

            _failuresInARow++;
            if (_failuresInARow == 1)
            {
                _log.Warning("Destination {Destination}: delivering container {ContainerId} failed ({Cause}): {Error}", _destination.Name,
                    delivery.ContainerId, outcome.Cause, outcome.Error);
            }

            // Unreachable: the next probe waits, longer each time, up to the schedule's maximum.
            if (Unreachable)
            {
                _pausedUntil = Later(_pausedUntil,
                    now + DeliveryBackoff.Delay(_destination.Retry, _unreachableInARow - UnreachableAfter + 1, Random.Shared.NextDouble()));
            }

            if (dead)
            {
                _log.Warning("Destination {Destination}: delivery {DeliveryId} of container {ContainerId} is dead after {Attempts} attempts: {Error} "
                    + "(imapactors deliveries retry sends it again)", _destination.Name, delivery.Id, delivery.ContainerId, attempts, outcome.Error);
            }

            var error = outcome.Error ?? "failed";
            var remoteId = outcome.RemoteId;
            write = () => _store.MarkFailedAsync(delivery.Id, attempts, now + wait, error, dead, remoteId, CancellationToken.None);
        }

        // The row stays pending in the store until this write lands; a crash before it sends the container again, which
        // the destination takes as the same one.
        Record(new Recording(delivery.Id, write), attempt: 1);
    }

    /// <summary>
    /// Runs an outcome's write; a failed one is tried again (the store busy, a database fail-over) with the delivery kept
    /// in flight meanwhile, so it is neither sent again at once nor lost.
    /// </summary>
    private void Record(Recording recording, int attempt)
    {
        recording.Write().PipeTo(Self, success: () => new Settled(recording.Id), failure: e =>
        {
            _log.Warning("Destination {Destination}: recording delivery {DeliveryId} failed (attempt {Attempt}): {Error}", _destination.Name,
                recording.Id, attempt, e.GetBaseException().Message);
            return new RecordFailed(recording, attempt);
        });
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private sealed class Look
    {
        public static readonly Look Instance = new();
    }

    /// <summary>Stop after the deliveries in flight are recorded (the singleton's hand-over message).</summary>
    public sealed class Finish
    {
        public static readonly Finish Instance = new();

        private Finish()
        {
        }
    }

    private sealed class FinishNow
    {
        public static readonly FinishNow Instance = new();
    }

    private sealed record Loaded(IReadOnlyList<Storage.Delivery> Rows, int Limit);

    private sealed record LoadFailed(string Error);

    private sealed record Attempted(Storage.Delivery Delivery, DeliveryOutcome Outcome);

    private sealed record Settled(long Id);

    private sealed record Recording(long Id, Func<Task> Write);

    private sealed record RecordFailed(Recording Recording, int Attempt);

    private sealed record RecordAgain(Recording Recording, int Attempt);
}

/// <summary>
/// The process's delivery attempts since start, by destination and outcome (delivered, failed, dead), and its failures by
/// cause (connect, timeout, http_5xx, http_429, refused, mismatch, missing), for <c>/metrics</c>.
/// </summary>
public static class DeliveryStats
{
    private static readonly ConcurrentDictionary<(string Destination, string Outcome), long> AttemptCounts = new();
    private static readonly ConcurrentDictionary<(string Destination, string Cause), long> FailureCounts = new();

    public static IReadOnlyDictionary<(string Destination, string Outcome), long> Attempts => AttemptCounts;

    public static IReadOnlyDictionary<(string Destination, string Cause), long> Failures => FailureCounts;

    internal static void Attempted(string destination, string outcome) => AttemptCounts.AddOrUpdate((destination, outcome), 1, (_, n) => n + 1);

    internal static void Failed(string destination, string cause) => FailureCounts.AddOrUpdate((destination, cause), 1, (_, n) => n + 1);
}

/// <summary>The delay before a failed delivery's next attempt.</summary>
public static class DeliveryBackoff
{
    /// <summary>
    /// <see cref="RetrySchedule.Min"/> doubled per attempt after the first, at most <see cref="RetrySchedule.Max"/>, and
    /// jittered into its upper half by <paramref name="random"/> (0 to 1), so containers that failed together do not
    /// come back together.
    /// </summary>
    public static TimeSpan Delay(RetrySchedule schedule, int attempts, double random)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var doublings = Math.Clamp(attempts - 1, 0, 30);
        var full = Math.Min(schedule.Max.TotalMilliseconds, schedule.Min.TotalMilliseconds * Math.Pow(2, doublings));
        return TimeSpan.FromMilliseconds(full * (0.5 + 0.5 * Math.Clamp(random, 0, 1)));
    }
}
