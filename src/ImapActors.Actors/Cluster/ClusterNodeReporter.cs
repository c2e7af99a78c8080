using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Cluster;

/// <summary>
/// Writes this node's view of the cluster (members and their state, the leader, the mailboxes running here) to the
/// store every <c>interval</c> and whenever a mailbox starts or stops here, so that <c>imapactors cluster status</c>
/// reads the cluster from the database. A failed write is logged and the next one tries again; one write at a time.
/// </summary>
public sealed class ClusterNodeReporter : ReceiveActor, IWithTimers
{
    /// <summary>How often a node reports; a report older than three intervals is a node that stopped reporting.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly IClusterNodeViews _store;
    private readonly string _node;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _startedAt;
    private readonly HashSet<MailboxId> _mailboxes = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _writing;
    private bool _changed;
    private bool _failing;

    public ClusterNodeReporter(IClusterNodeViews store, string node, TimeSpan interval, TimeProvider? time)
    {
        _store = store;
        _node = node;
        _interval = interval;
        _time = time ?? TimeProvider.System;
        _startedAt = _time.GetUtcNow();
        Receive<MailboxSharding.MailboxRunning>(running =>
        {
            var changed = running.Running ? _mailboxes.Add(running.Mailbox) : _mailboxes.Remove(running.Mailbox);
            if (changed)
            {
                Report();
            }
        });
        Receive<Tick>(_ => Report());
        Receive<Written>(_ =>
        {
            _writing = false;
            _failing = false;
            if (_changed)
            {
                Report();
            }
        });
        Receive<Status.Failure>(failure =>
        {
            _writing = false;
            if (!_failing)
            {
                // Once per outage, not once per interval.
                _log.Warning(failure.Cause, "The cluster status of this node could not be written; retrying every {Interval}", _interval);
                _failing = true;
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IClusterNodeViews store, string node, TimeSpan interval, TimeProvider? time = null) =>
        Akka.Actor.Props.Create(() => new ClusterNodeReporter(store, node, interval, time));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe<MailboxSharding.MailboxRunning>(Self);
        Timers.StartPeriodicTimer("report", Tick.Instance, TimeSpan.Zero, _interval);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void Report()
    {
        if (_writing)
        {
            _changed = true;
            return;
        }

        _writing = true;
        _changed = false;
        var state = Akka.Cluster.Cluster.Get(Context.System).State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var view = new ClusterNodeView(
            _node,
            _startedAt,
            _time.GetUtcNow(),
            state.Leader is { } leader ? Name(leader) : null,
            state.Members.Select(m => new ClusterMemberView(Name(m.Address), m.Status.ToString(), !unreachable.Contains(m.Address))).ToList(),
            _mailboxes.Select(m => new MailboxName(m.Asset.Value, m.Folder.Value)).OrderBy(m => m.Asset, StringComparer.Ordinal)
                .ThenBy(m => m.Folder, StringComparer.Ordinal).ToList());
        _store.PublishNodeViewAsync(view, CancellationToken.None).PipeTo(Self, success: () => Written.Instance);
    }

    private static string Name(Address address) => $"{address.Host}:{address.Port}";

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class Written
    {
        public static readonly Written Instance = new();
    }
}
