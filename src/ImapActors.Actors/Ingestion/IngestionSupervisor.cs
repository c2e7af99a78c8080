using Akka.Actor;
using Akka.Event;
using ImapActors.Actors.Mailboxes;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Ingestion.Admission;
using ImapActors.Storage;

namespace ImapActors.Actors.Ingestion;

/// <summary>The services the actor tree runs on, made once by the engine's composition root.</summary>
public sealed record EngineServices(
    EngineSettings Settings,
    IContainerStore Store,
    IVault Vault,
    IEmailProcessing Processing,
    IMailboxConnector Connector,
    string ParserVersion)
{
    /// <summary>
    /// Each asset's destinations (<see cref="AssetSettings.DeliverTo"/>), by asset name: kept apart from
    /// <see cref="Settings"/>, whose assets a one-off verb empties, because every container made gets its deliveries.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> DeliverTo { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>How one mailbox is doing, as <c>run</c> shows it.</summary>
public sealed record MailboxStatus(
    MailboxId Mailbox,
    long Fetched,
    long Bytes,
    long Created,
    long AlreadyIngested,
    long Reconciled,
    long Quarantined,
    long Gone,
    bool CaughtUp,
    bool GaveUp,
    string? LastError,
    DateTimeOffset StartedAt)
{
    /// <summary>When the mailbox tries again after its last failure; null while it runs.</summary>
    public DateTimeOffset? NextAttempt { get; init; }

    /// <summary>Failures since the last successful poll.</summary>
    public int FailuresInARow { get; init; }

    /// <summary>Failures since the engine started.</summary>
    public long Failures { get; init; }

    /// <summary>When a poll last went through; null before the first.</summary>
    public DateTimeOffset? LastPoll { get; init; }

    /// <summary>Whether the mailbox runs on this node now (false once it stopped, or in cluster mode moved to another node).</summary>
    public bool Running { get; init; }

    /// <summary>The folder's UIDVALIDITY at the last poll; null before the first.</summary>
    public uint? UidValidity { get; init; }

    /// <summary>UIDs of <see cref="UidValidity"/> committed (ingested, reconciled, quarantined or gone), all runs together.</summary>
    public long? Committed { get; init; }

    /// <summary>Emails the last poll's search found on the server that are not committed yet; null before the first poll.</summary>
    public long? Lag { get; init; }

    /// <summary>
    /// No successful poll for three poll intervals while running (the server down, a refused login, a connection gone
    /// silent): the mailbox needs someone to look. Since when, or null.
    /// </summary>
    public DateTimeOffset? StaleSince { get; init; }

    public bool Stale => StaleSince is not null;

    /// <summary>Failures since the engine started, by cause (a code such as <c>AuthenticationFailed</c>).</summary>
    public IReadOnlyDictionary<string, long> FailuresByCause { get; init; } = new Dictionary<string, long>();
}

/// <summary>Queries and commands of the ingestion supervisor.</summary>
public static class IngestionProtocol
{
    /// <summary>Answered with the list of <see cref="MailboxStatus"/>.</summary>
    public sealed record GetStatus;

    /// <summary>With <c>--once</c>: answered with the statuses when every mailbox is caught up or has given up.</summary>
    public sealed record WhenCaughtUp;

    /// <summary>Stop every mailbox gracefully; answered with <see cref="Stopped"/>.</summary>
    public sealed record StopAll;

    public sealed record Stopped;

    /// <summary>
    /// Ingests one email through the same pools and sink as polling (get email, poll now, quarantine retries); answered
    /// with its <see cref="CommitResult"/>, or a <see cref="Status.Failure"/> naming the stage that failed.
    /// Idempotent on the email's (asset, folder, UIDVALIDITY, UID). The raw bytes stay the sender's.
    /// </summary>
    public sealed record IngestOne(RawEmail Raw, EmailSource Source, ExtractionSettings Settings, string Label) : INoSerializationVerificationNeeded;

    /// <summary>Answered with the <see cref="AdmissionStats"/> of the admission gate every mailbox shares (peaks included).</summary>
    public sealed record GetAdmission;

    /// <summary>The parser pool and the sink, as a one-off ingestion uses them.</summary>
    internal sealed record Pipeline(IActorRef Parsers, IActorRef Sink) : INoSerializationVerificationNeeded;

    /// <summary>
    /// In cluster mode, from a mailbox entity starting on this node: answered with <see cref="MailboxAttached"/> (the
    /// options of the mailbox on this node's pipeline) or <see cref="UnknownMailbox"/>.
    /// </summary>
    public sealed record AttachMailbox(string EntityId) : INoSerializationVerificationNeeded;

    public sealed record MailboxAttached(Mailboxes.MailboxOptions Options) : INoSerializationVerificationNeeded;

    public sealed record UnknownMailbox(string EntityId) : INoSerializationVerificationNeeded;
}

/// <summary>
/// The root of ingestion: the parser and extractor pools, the sink, and one mailbox actor per (asset, folder) under its
/// own <see cref="MailboxSupervisor"/>, each addressed by its stable id.
/// </summary>
public sealed class IngestionSupervisor : ReceiveActor, IWithTimers
{
    /// <summary>Poll intervals without a successful poll after which a running mailbox is stale.</summary>
    public const int StaleAfterIntervals = 3;

    /// <summary>With <c>--once</c>, a mailbox that failed this often in a row without progress is given up.</summary>
    private const int TransientFailuresBeforeGivingUp = 8;

    // A refused login (or an untrusted certificate, a missing folder) is not tried again with --once: trying again only
    // costs the account another failed password check.
    private const int PermanentFailuresBeforeGivingUp = 1;

    private readonly EngineServices _services;
    private readonly bool _once;
    private readonly bool _clustered;
    private readonly Dictionary<AssetName, int> _shares = [];

    // What each mailbox of the configuration needs to start, by stable id: its asset, folder and the asset's budget.
    private readonly Dictionary<string, (AssetSettings Asset, FolderName Folder, IActorRef Connections)> _configured = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<MailboxId, Tracker> _mailboxes = new();
    private readonly List<IActorRef> _caughtUpWaiters = new();
    private readonly List<IActorRef> _stopWaiters = new();
    private IActorRef _parsers = ActorRefs.Nobody;
    private IActorRef _sink = ActorRefs.Nobody;
    private IActorRef _admission = ActorRefs.Nobody;

    /// <param name="services">What the actor tree runs on.</param>
    /// <param name="once">Stop each mailbox once it is caught up (<c>run --once</c>).</param>
    /// <param name="clustered">
    /// In cluster mode the mailboxes are sharded entities (<see cref="Cluster.MailboxEntity"/>): this supervisor starts
    /// none itself, gives each entity that starts on this node its options, and tracks it as it tracks its own children.
    /// </param>
    public IngestionSupervisor(EngineServices services, bool once, bool clustered = false)
    {
        _services = services;
        _once = once;
        _clustered = clustered;
        Receive<IngestionProtocol.AttachMailbox>(OnAttach);

        Receive<IMailboxCommand>(cmd =>
        {
            if (_mailboxes.TryGetValue(cmd.Mailbox, out var tracker) && !tracker.Child.IsNobody())
            {
                tracker.Child.Forward(cmd);
            }
            else
            {
                Sender.Tell(new Status.Failure(new KeyNotFoundException($"No mailbox {cmd.Mailbox}")));
            }
        });
        Receive<MailboxReports.BatchDone>(r => Track(r.Mailbox, t =>
        {
            t.Fetched += r.Fetched;
            t.Bytes += r.Bytes;
            t.Created += r.Created;
            t.Already += r.AlreadyIngested;
            t.Reconciled += r.Reconciled;
            t.Quarantined += r.Quarantined;
            t.Gone += r.Gone;
            var settled = r.Created + r.AlreadyIngested + r.Reconciled + r.Quarantined + r.Gone;
            t.Committed += settled;
            t.Lag = t.Lag is { } lag ? Math.Max(0, lag - settled) : null;
            t.ConsecutiveFailures = 0;
        }));
        Receive<MailboxReports.PollStarted>(r => Track(r.Mailbox, t =>
        {
            t.UidValidity = r.UidValidity;
            t.Committed = r.Committed;
            t.Lag = r.Pending;
            t.ConsecutiveFailures = 0;
            t.LastError = null;
            t.NextAttempt = null;
        }));
        Receive<MailboxReports.PollSucceeded>(r => Track(r.Mailbox, t =>
        {
            t.LastPoll = r.At;
            t.FailuresInARow = 0;
            if (t.StaleSince is { } since)
            {
                t.StaleSince = null;
                _log.Info("Mailbox {Mailbox} polls again, no longer stale (stale for {Seconds:0} s)", r.Mailbox, (r.At - since).TotalSeconds);
            }
        }));
        Receive<CheckStale>(_ => CheckStaleMailboxes());
        Receive<MailboxReports.CaughtUp>(r => Track(r.Mailbox, t => t.CaughtUp = true));
        Receive<MailboxReports.Failed>(OnMailboxFailed);
        Receive<IngestionProtocol.GetStatus>(_ => Sender.Tell(Statuses()));
        Receive<IngestionProtocol.GetAdmission>(_ => _admission.Forward(AdmissionProtocol.GetAdmissionStats.Instance));
        Receive<IngestionProtocol.IngestOne>(msg =>
            Context.ActorOf(Akka.Actor.Props.Create(() => new OneShotIngestion(new IngestionProtocol.Pipeline(_parsers, _sink), msg, Sender))));
        Receive<IngestionProtocol.WhenCaughtUp>(_ =>
        {
            _caughtUpWaiters.Add(Sender);
            CheckCaughtUp();
        });
        Receive<IngestionProtocol.StopAll>(_ =>
        {
            if (_clustered)
            {
                // The shard region hands each entity over when the node leaves; its batches in flight commit then.
                Sender.Tell(new IngestionProtocol.Stopped());
                return;
            }

            _stopWaiters.Add(Sender);
            foreach (var (id, tracker) in _mailboxes)
            {
                tracker.Child.Tell(new MailboxCommands.StopGracefully(id));
            }

            CheckStopped();
        });
        Receive<Terminated>(t =>
        {
            foreach (var tracker in _mailboxes.Values.Where(m => m.Child.Equals(t.ActorRef)))
            {
                tracker.Child = ActorRefs.Nobody;
            }

            CheckStopped();
            CheckCaughtUp();
            ShareConnections();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        if (!_once)
        {
            Timers.StartPeriodicTimer(nameof(CheckStale), CheckStale.Instance, TimeSpan.FromSeconds(1));
        }

        var cores = Environment.ProcessorCount;
        var settings = _services.Settings;
        // The sink first: extractors stage their results in it, and the mailboxes only hear that they are staged.
        _sink = Context.ActorOf(SinkActor.Props(_services.Store, _services.Vault, settings.Cluster.NodeName, _services.DeliverTo), "sink");
        _admission = Context.ActorOf(AdmissionGateActor.Props(settings.Admission), "admission");
        var extractors = Context.ActorOf(
            ExtractorActor.PoolProps(_services.Processing, _services.Vault, _sink, settings.ExtractorPoolSize > 0 ? settings.ExtractorPoolSize : cores),
            "extractors");
        _parsers = Context.ActorOf(
            ParserActor.PoolProps(_services.Processing, extractors, settings.ParserPoolSize > 0 ? settings.ParserPoolSize : cores),
            "parsers");

        for (var i = 0; i < settings.Assets.Count; i++)
        {
            var asset = settings.Assets[i];
            var connections = Context.ActorOf(ConnectionBudgetActor.Props(asset.Name.Value, asset.MaxConnections), $"connections-{i}");
            foreach (var folder in asset.Folders)
            {
                var id = new MailboxId(asset.Name, folder);
                _configured[id.StableId] = (asset, folder, connections);
                if (!_clustered)
                {
                    var child = Context.ActorOf(MailboxSupervisor.Props(Options(id.StableId)), "mailbox-" + id.StableId);
                    Context.Watch(child);
                    _mailboxes[id] = new Tracker(child, DateTimeOffset.UtcNow);
                }
            }
        }

        _log.Info("Ingestion started: {Mailboxes} mailboxes{Sharded}, {Parsers} parsers, {Extractors} extractors, at most {MaxEmails} emails and {MaxBytes} bytes in flight",
            _configured.Count, _clustered ? " (sharded across the cluster)" : string.Empty, settings.ParserPoolSize > 0 ? settings.ParserPoolSize : cores,
            settings.ExtractorPoolSize > 0 ? settings.ExtractorPoolSize : cores, settings.Admission.MaxEmails, settings.Admission.MaxBytes);
    }

    /// <summary>The options of the configured mailbox with this stable id, on this node's pools, sink, gate and budget.</summary>
    private MailboxOptions Options(string stableId)
    {
        var (asset, folder, connections) = _configured[stableId];
        return new MailboxOptions(asset, folder, _services.Settings, _once, _parsers, _sink, Self, _services.Connector, _services.ParserVersion)
        {
            Admission = _admission,
            Connections = connections,
        };
    }

    private void OnAttach(IngestionProtocol.AttachMailbox attach)
    {
        if (!_configured.ContainsKey(attach.EntityId))
        {
            Sender.Tell(new IngestionProtocol.UnknownMailbox(attach.EntityId));
            return;
        }

        var options = Options(attach.EntityId);
        Context.Watch(Sender);
        if (_mailboxes.TryGetValue(options.Mailbox, out var tracker))
        {
            tracker.Child = Sender;
        }
        else
        {
            _mailboxes[options.Mailbox] = new Tracker(Sender, DateTimeOffset.UtcNow);
        }

        Sender.Tell(new IngestionProtocol.MailboxAttached(options));
        ShareConnections();
    }

    /// <summary>
    /// In a cluster the nodes share each asset's <c>max_connections</c> in proportion to the asset's folders each runs
    /// (rounded down, at least one), so together they stay within it whenever it is at least the number of nodes
    /// running the asset's folders; no node needs to ask another. Called when a mailbox starts or stops here.
    /// </summary>
    private void ShareConnections()
    {
        if (!_clustered)
        {
            return;
        }

        foreach (var group in _configured.Values.GroupBy(c => c.Asset.Name))
        {
            var asset = group.First().Asset;
            var here = _mailboxes.Count(m => m.Key.Asset == asset.Name && !m.Value.Child.IsNobody());
            var share = Math.Max(1, asset.MaxConnections * here / asset.Folders.Count);
            if (here == 0 || _shares.GetValueOrDefault(asset.Name) == share)
            {
                continue;
            }

            _shares[asset.Name] = share;
            group.First().Connections.Tell(new ConnectionProtocol.Resize(share));
            _log.Info("Asset {Asset}: {Here} of its {Folders} folders run on this node, which may open {Share} of its {Max} connections",
                asset.Name, here, asset.Folders.Count, share, asset.MaxConnections);
        }
    }

    /// <summary>
    /// The pools and the sink hold no state that a restart loses (work in flight is retried by its mailbox; the sink's
    /// staged emails live outside its instance), so any of them is restarted alone. A restarted admission gate forgets
    /// the credit in use, which lets more in than its bound only until those batches settle. Mailboxes never reach this
    /// strategy: each has its own <see cref="MailboxSupervisor"/>.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, TimeSpan.FromMinutes(1), _ => Directive.Restart);

    private void OnMailboxFailed(MailboxReports.Failed report)
    {
        var wait = report.NextAttempt - DateTimeOffset.UtcNow;
        _log.Warning("Mailbox {Mailbox} failed ({Cause}): {Error}; next attempt at {NextAttempt:HH:mm:ss} UTC, in {Wait:0.#} s (failure {Failures} in a row)",
            report.Mailbox, report.Cause, report.Message, report.NextAttempt, Math.Max(0, wait.TotalSeconds), report.FailuresInARow);
        Track(report.Mailbox, t =>
        {
            t.ConsecutiveFailures++;
            t.FailuresInARow = report.FailuresInARow;
            t.Failures++;
            t.FailuresByCause[report.Cause] = t.FailuresByCause.GetValueOrDefault(report.Cause) + 1;
            t.NextAttempt = report.NextAttempt;
            t.LastError = $"{report.Cause}: {report.Message}";
            var limit = report.Transient ? TransientFailuresBeforeGivingUp : PermanentFailuresBeforeGivingUp;
            if (_once && !t.GaveUp && t.ConsecutiveFailures >= limit)
            {
                t.GaveUp = true;
                _log.Error("Mailbox {Mailbox} gave up after {Failures} failures in a row: {Error}", report.Mailbox, t.ConsecutiveFailures, t.LastError);
                t.Child.Tell(new MailboxCommands.StopGracefully(report.Mailbox));
            }
        });
    }

    private void Track(MailboxId mailbox, Action<Tracker> update)
    {
        if (_mailboxes.TryGetValue(mailbox, out var tracker))
        {
            update(tracker);
            CheckCaughtUp();
        }
    }

    private void CheckCaughtUp()
    {
        if (_caughtUpWaiters.Count == 0 || !_mailboxes.Values.All(t => t.CaughtUp || t.GaveUp))
        {
            return;
        }

        var statuses = Statuses();
        foreach (var waiter in _caughtUpWaiters)
        {
            waiter.Tell(statuses);
        }

        _caughtUpWaiters.Clear();
    }

    private void CheckStopped()
    {
        if (_stopWaiters.Count == 0 || _mailboxes.Values.Any(t => !t.Child.IsNobody()))
        {
            return;
        }

        foreach (var waiter in _stopWaiters)
        {
            waiter.Tell(new IngestionProtocol.Stopped());
        }

        _stopWaiters.Clear();
    }

    /// <summary>
    /// The watchdog: a running mailbox without a successful poll for <see cref="StaleAfterIntervals"/> poll intervals
    /// turns stale, with one warning; its next successful poll clears it, with one line saying so.
    /// </summary>
    private void CheckStaleMailboxes()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var (id, t) in _mailboxes)
        {
            if (t.StaleSince is not null || t.Child.IsNobody() || !_configured.TryGetValue(id.StableId, out var configured))
            {
                continue;
            }

            var threshold = StaleAfterIntervals * configured.Asset.PollInterval;
            var since = t.LastPoll ?? t.StartedAt;
            if (now - since > threshold)
            {
                t.StaleSince = now;
                _log.Warning("Mailbox {Mailbox} is stale: no successful poll for {Seconds:0} s ({Intervals} poll intervals of {Interval}){LastError}",
                    id, (now - since).TotalSeconds, StaleAfterIntervals, configured.Asset.PollInterval,
                    t.LastError is { } error ? $"; last error: {error}" : "");
            }
        }
    }

    private List<MailboxStatus> Statuses() =>
        _mailboxes.Select(kv => new MailboxStatus(kv.Key, kv.Value.Fetched, kv.Value.Bytes, kv.Value.Created, kv.Value.Already,
            kv.Value.Reconciled, kv.Value.Quarantined, kv.Value.Gone, kv.Value.CaughtUp, kv.Value.GaveUp, kv.Value.LastError,
            kv.Value.StartedAt)
        {
            NextAttempt = kv.Value.NextAttempt,
            FailuresInARow = kv.Value.FailuresInARow,
            Failures = kv.Value.Failures,
            LastPoll = kv.Value.LastPoll,
            Running = !kv.Value.Child.IsNobody(),
            UidValidity = kv.Value.UidValidity,
            Committed = kv.Value.UidValidity is null ? null : kv.Value.Committed,
            Lag = kv.Value.Lag,
            StaleSince = kv.Value.Child.IsNobody() ? null : kv.Value.StaleSince,
            FailuresByCause = new Dictionary<string, long>(kv.Value.FailuresByCause, StringComparer.Ordinal),
        }).ToList();

    public static Props Props(EngineServices services, bool once, bool clustered = false) =>
        Akka.Actor.Props.Create(() => new IngestionSupervisor(services, once, clustered));

    private sealed class Tracker(IActorRef child, DateTimeOffset startedAt)
    {
        public IActorRef Child { get; set; } = child;
        public DateTimeOffset StartedAt { get; } = startedAt;
        public long Fetched { get; set; }
        public long Bytes { get; set; }
        public long Created { get; set; }
        public long Already { get; set; }
        public long Reconciled { get; set; }
        public long Quarantined { get; set; }
        public long Gone { get; set; }
        public bool CaughtUp { get; set; }
        public bool GaveUp { get; set; }
        public int ConsecutiveFailures { get; set; }
        public int FailuresInARow { get; set; }
        public long Failures { get; set; }
        public DateTimeOffset? NextAttempt { get; set; }
        public DateTimeOffset? LastPoll { get; set; }
        public string? LastError { get; set; }
        public uint? UidValidity { get; set; }
        public long Committed { get; set; }
        public long? Lag { get; set; }
        public DateTimeOffset? StaleSince { get; set; }
        public Dictionary<string, long> FailuresByCause { get; } = new(StringComparer.Ordinal);
    }

    private sealed class CheckStale
    {
        public static CheckStale Instance { get; } = new();
    }
}
