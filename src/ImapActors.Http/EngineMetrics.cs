using ImapActors.Actors.Engine;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Storage;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace ImapActors.Http;

/// <summary>
/// What <c>/metrics</c> serves, in a registry of this engine's own: per mailbox counters and gauges read from the
/// ingestion supervisor just before each scrape (so a scrape sees the same numbers as <c>/api/v1/mailboxes</c>), the
/// admission gate, the stage timings and open IMAP connections the engine records as .NET metrics (meter
/// <c>imapactors</c>), and process and runtime metrics. Counters count from this process's start, as Prometheus expects.
/// </summary>
public sealed class EngineMetrics : IDisposable
{
    private static readonly string[] MailboxLabels = ["asset", "folder"];

    /// <summary>The states a mailbox may be in, each a series of <c>imapactors_mailbox_state</c>.</summary>
    private static readonly string[] States = ["polling", "starting", "retrying", "stale", "stopped", "gave-up"];

    private readonly EngineSettings _settings;
    private readonly Lazy<IngestionService> _ingestion;
    private readonly IDisposable _meters;
    private readonly Counter _emails;
    private readonly Counter _fetchedEmails;
    private readonly Counter _fetchedBytes;
    private readonly Counter _failures;
    private readonly Gauge _lag;
    private readonly Gauge _committed;
    private readonly Gauge _sincePoll;
    private readonly Gauge _stale;
    private readonly Gauge _state;
    private readonly Gauge _admissionEmails;
    private readonly Gauge _admissionBytes;
    private readonly Gauge _admissionWaiting;
    private readonly Gauge _admissionMaxEmails;
    private readonly Gauge _admissionMaxBytes;
    private readonly Gauge _deliveryBacklog;
    private readonly Gauge _deliveryFailing;
    private readonly Gauge _deliveryDead;
    private readonly Gauge _deliveryOldest;
    private readonly Counter _deliveryAttempts;
    private readonly Counter _deliveryFailures;
    private readonly IContainerStore _store;

    /// <summary>
    /// The metrics of the engine whose services <paramref name="engine"/> holds. Made with the HTTP server, before the
    /// actor system starts, so that the meter listener sees every stage timing; the ingestion service (which needs
    /// the running actor system) is looked up at the first scrape.
    /// </summary>
    public EngineMetrics(IServiceProvider engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        _settings = engine.GetRequiredService<EngineSettings>();
        _ingestion = new Lazy<IngestionService>(engine.GetRequiredService<IngestionService>);
        _store = engine.GetRequiredService<IContainerStore>();
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);

        _emails = factory.CreateCounter("imapactors_emails_total",
            "Emails of a mailbox settled since start, by outcome: created, already_ingested, reconciled, quarantined, gone (expunged before fetching)",
            [.. MailboxLabels, "outcome"]);
        _fetchedEmails = factory.CreateCounter("imapactors_fetched_emails_total", "Emails fetched from the mailbox's server since start", MailboxLabels);
        _fetchedBytes = factory.CreateCounter("imapactors_fetched_bytes_total", "Bytes of email fetched from the mailbox's server since start", MailboxLabels);
        _failures = factory.CreateCounter("imapactors_poll_failures_total", "Failed polls of a mailbox since start, by cause", [.. MailboxLabels, "cause"]);
        _lag = factory.CreateGauge("imapactors_mailbox_lag_emails", "Emails the last poll found on the server that are not committed yet", MailboxLabels);
        _committed = factory.CreateGauge("imapactors_mailbox_committed_uids", "UIDs of the folder's UIDVALIDITY committed, all runs together", MailboxLabels);
        _sincePoll = factory.CreateGauge("imapactors_mailbox_seconds_since_last_successful_poll",
            "Seconds since the mailbox's last successful poll (since it started, before the first)", MailboxLabels);
        _stale = factory.CreateGauge("imapactors_mailbox_stale", "1 while the mailbox has had no successful poll for three poll intervals", MailboxLabels);
        _state = factory.CreateGauge("imapactors_mailbox_state", "1 for the mailbox's current state, 0 for the others", [.. MailboxLabels, "state"]);
        _admissionEmails = factory.CreateGauge("imapactors_admission_emails_in_flight", "Emails holding the node's admission credit (fetched, not yet committed)");
        _admissionBytes = factory.CreateGauge("imapactors_admission_bytes_in_flight", "Bytes holding the node's admission credit");
        _admissionWaiting = factory.CreateGauge("imapactors_admission_waiting_mailboxes", "Mailboxes waiting for admission credit");
        _admissionMaxEmails = factory.CreateGauge("imapactors_admission_max_emails", "The admission gate's bound on emails in flight");
        _admissionMaxBytes = factory.CreateGauge("imapactors_admission_max_bytes", "The admission gate's bound on bytes in flight");

        _deliveryBacklog = factory.CreateGauge("imapactors_delivery_backlog_containers",
            "Containers committed and not delivered to the destination yet (failing ones included)", "destination");
        _deliveryFailing = factory.CreateGauge("imapactors_delivery_failing_containers",
            "Containers not delivered yet whose last attempt failed", "destination");
        _deliveryDead = factory.CreateGauge("imapactors_delivery_dead_containers",
            "Deliveries given up (too many attempts, or refused): sent again only by a retry", "destination");
        _deliveryOldest = factory.CreateGauge("imapactors_delivery_oldest_undelivered_seconds",
            "Age of the oldest container not delivered to the destination yet (0 when none)", "destination");

        _deliveryAttempts = factory.CreateCounter("imapactors_delivery_attempts_total",
            "Attempts to deliver a container made by this process since start, by outcome: delivered, failed, dead", ["destination", "outcome"]);
        _deliveryFailures = factory.CreateCounter("imapactors_delivery_failures_total",
            "Failed delivery attempts of this process since start, by cause: connect, timeout, http_5xx, http_429, refused, mismatch, missing",
            ["destination", "cause"]);

        DotNetStats.Register(Registry);
        _meters = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = Registry,
            MetricFactory = factory,
            InstrumentFilterPredicate = i => i.Meter.Name is EngineMeter.Name or "System.Runtime",
            // Stage timings from 100 microseconds to about 100 seconds.
            ResolveHistogramBuckets = _ => Histogram.ExponentialBuckets(0.0001, 4, 11),
            // The longest the adapter keeps a series that records nothing (a node with no mail for a day).
            MetricsExpireAfter = TimeSpan.FromDays(1),
        });
        Registry.AddBeforeCollectCallback(RefreshAsync);
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Writes every metric in Prometheus' text format.</summary>
    public Task WriteAsync(Stream stream, CancellationToken cancellationToken) => Registry.CollectAndExportAsTextAsync(stream, cancellationToken);

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var status in await _ingestion.Value.GetStatusAsync(cancellationToken))
        {
            var (asset, folder) = (status.Mailbox.Asset.Value, status.Mailbox.Folder.Value);
            _emails.WithLabels(asset, folder, "created").IncTo(status.Created);
            _emails.WithLabels(asset, folder, "already_ingested").IncTo(status.AlreadyIngested);
            _emails.WithLabels(asset, folder, "reconciled").IncTo(status.Reconciled);
            _emails.WithLabels(asset, folder, "quarantined").IncTo(status.Quarantined);
            _emails.WithLabels(asset, folder, "gone").IncTo(status.Gone);
            _fetchedEmails.WithLabels(asset, folder).IncTo(status.Fetched);
            _fetchedBytes.WithLabels(asset, folder).IncTo(status.Bytes);
            foreach (var (cause, count) in status.FailuresByCause)
            {
                _failures.WithLabels(asset, folder, cause).IncTo(count);
            }

            if (!status.Running && _settings.Cluster.Enabled)
            {
                // Moved to another node: that node reports it now.
                foreach (var gauge in new[] { _lag, _committed, _sincePoll, _stale })
                {
                    gauge.RemoveLabelled(asset, folder);
                }

                foreach (var state in States)
                {
                    _state.RemoveLabelled(asset, folder, state);
                }

                continue;
            }

            _lag.WithLabels(asset, folder).Set(status.Lag ?? 0);
            _committed.WithLabels(asset, folder).Set(status.Committed ?? 0);
            _sincePoll.WithLabels(asset, folder).Set(Math.Max(0, (now - (status.LastPoll ?? status.StartedAt)).TotalSeconds));
            _stale.WithLabels(asset, folder).Set(status.Stale ? 1 : 0);
            var current = MailboxView.StateOf(status);
            foreach (var state in States)
            {
                _state.WithLabels(asset, folder, state).Set(state == current ? 1 : 0);
            }
        }

        foreach (var ((destination, outcome), count) in Actors.Delivery.DeliveryStats.Attempts)
        {
            _deliveryAttempts.WithLabels(destination, outcome).IncTo(count);
        }

        foreach (var ((destination, cause), count) in Actors.Delivery.DeliveryStats.Failures)
        {
            _deliveryFailures.WithLabels(destination, cause).IncTo(count);
        }

        {
            // Every destination configured, and any other the outbox still holds deliveries for (one removed from the
            // configuration: nothing sends those, and the backlog shows it).
            var backlog = (await _store.DeliveryBacklogAsync(cancellationToken)).ToDictionary(b => b.Destination, StringComparer.Ordinal);
            foreach (var name in _settings.Destinations.Select(d => d.Name).Union(backlog.Keys, StringComparer.Ordinal))
            {
                var b = backlog.GetValueOrDefault(name);
                _deliveryBacklog.WithLabels(name).Set(b?.Pending ?? 0);
                _deliveryFailing.WithLabels(name).Set(b?.Failing ?? 0);
                _deliveryDead.WithLabels(name).Set(b?.Dead ?? 0);
                _deliveryOldest.WithLabels(name).Set(b?.OldestPending is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0);
            }
        }

        var admission = await _ingestion.Value.GetAdmissionAsync(cancellationToken);
        _admissionEmails.Set(admission.Emails);
        _admissionBytes.Set(admission.Bytes);
        _admissionWaiting.Set(admission.Waiting);
        _admissionMaxEmails.Set(admission.MaxEmails);
        _admissionMaxBytes.Set(admission.MaxBytes);
    }

    public void Dispose() => _meters.Dispose();
}
