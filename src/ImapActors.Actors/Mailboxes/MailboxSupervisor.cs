using Akka.Actor;
using ImapActors.Ingestion.Backoff;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// The parent of one mailbox actor, and the only thing that restarts it. After a failure it waits out the mailbox's
/// <see cref="FailureBackoff"/>: the asset's <c>retry_*</c> schedule for failures that may pass by themselves, its
/// <c>login_retry_*</c> schedule for those that need a person, each growing with failures in a row however long an
/// attempt lasted, and reset only when the mailbox reports a successful poll. Each failure is reported once, with its
/// cause and the time of the next attempt (the ingestion supervisor logs it in one line). Reports of the mailbox pass
/// through to the ingestion supervisor; commands go to the mailbox while it runs.
/// </summary>
public sealed class MailboxSupervisor : ReceiveActor, IWithTimers
{
    private readonly MailboxOptions _options;
    private readonly IActorRef _reportTo;
    private readonly Random _random = new();
    private FailureBackoff _backoff;
    private IActorRef? _child;
    private MailboxFailedException? _failure;
    private DateTimeOffset _nextAttempt;
    private bool _stopping;

    public MailboxSupervisor(MailboxOptions options)
    {
        _reportTo = options.ReportTo;
        _options = options with { ReportTo = Self };
        var asset = options.Asset;
        _backoff = FailureBackoff.Start(new BackoffSchedule(asset.Retry.Min, asset.Retry.Max),
            new BackoffSchedule(asset.LoginRetry.Min, asset.LoginRetry.Max));

        Receive<Terminated>(t => t.ActorRef.Equals(_child), _ => ChildStopped());
        Receive<StartMailbox>(_ => Start());
        Receive<MailboxReports.PollSucceeded>(report =>
        {
            _backoff = _backoff.Succeeded();
            _reportTo.Forward(report);
        });
        Receive<MailboxReports.IMailboxReport>(report => _reportTo.Forward(report));
        Receive<MailboxCommands.StopGracefully>(stop =>
        {
            _stopping = true;
            if (_child is null)
            {
                Context.Stop(Self);
            }
            else
            {
                _child.Forward(stop);
            }
        });
        Receive<IMailboxCommand>(command =>
        {
            if (_child is not null)
            {
                _child.Forward(command);
            }
            else
            {
                Sender.Tell(new Status.Failure(new InvalidOperationException(
                    $"Mailbox {command.Mailbox} is waiting to try again at {_nextAttempt:yyyy-MM-dd HH:mm:ss} UTC")));
            }
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Start();

    /// <summary>Every failure of the mailbox stops it; <see cref="ChildStopped"/> decides when it comes back. Logged once, by the report.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, cause =>
    {
        _failure = cause as MailboxFailedException;
        return Directive.Stop;
    }, loggingEnabled: false);

    private void Start()
    {
        _failure = null;
        _child = Context.ActorOf(Akka.Actor.Props.Create(() => new MailboxActor(_options)), "mailbox");
        Context.Watch(_child);
    }

    private void ChildStopped()
    {
        _child = null;
        if (_stopping)
        {
            Context.Stop(Self);
            return;
        }

        // A mailbox stops itself without a failure only when its journal refused a write or a replay (Akka.Persistence
        // logs the cause): that passes once the database is back.
        var failure = _failure ?? new MailboxFailedException(_options.Mailbox,
            new InvalidOperationException("the cursor could not be read or written; the journal may be unavailable"), "JournalUnavailable", true);
        var step = _backoff.Failed(failure.Transient ? FailureKind.Transient : FailureKind.Refused, _random.NextDouble());
        _backoff = step.Backoff;
        _nextAttempt = DateTimeOffset.UtcNow + step.Delay;
        _reportTo.Tell(new MailboxReports.Failed(_options.Mailbox, failure.Code, failure.InnerException?.Message ?? failure.Message,
            failure.Transient, _nextAttempt, step.FailuresInARow));
        Timers.StartSingleTimer("start", StartMailbox.Instance, step.Delay);
    }

    public static Props Props(MailboxOptions options) => Akka.Actor.Props.Create(() => new MailboxSupervisor(options));

    private sealed class StartMailbox
    {
        public static StartMailbox Instance { get; } = new();
    }
}
