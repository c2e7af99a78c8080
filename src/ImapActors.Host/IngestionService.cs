using Akka.Actor;
using Akka.Hosting;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Host;

/// <summary>
/// The ingestion running on this host, for the actions, the CLI and (later) the HTTP API: one-off ingestion through the
/// same pools and sink as polling, the mailboxes' status, and the graceful stop.
/// </summary>
public sealed class IngestionService(IRequiredActor<IngestionSupervisor> supervisor)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private IReadOnlyList<MailboxStatus>? _final;

    /// <summary>The statuses taken when the mailboxes stopped; null while they run.</summary>
    public IReadOnlyList<MailboxStatus>? FinalStatuses => _final;

    /// <summary>
    /// Ingests one email through the parser and extractor pools and the sink, and returns the commit result. Idempotent
    /// on the email's (asset, folder, UIDVALIDITY, UID). The raw bytes stay the caller's.
    /// </summary>
    /// <exception cref="InvalidOperationException">A stage failed; the message names it.</exception>
    public async Task<CommitResult> IngestAsync(RawEmail raw, EmailSource source, ExtractionSettings settings, string label,
        CancellationToken cancellationToken)
    {
        var root = await supervisor.GetAsync(cancellationToken);
        return await root.Ask<CommitResult>(new IngestionProtocol.IngestOne(raw, source, settings, label), Timeout.InfiniteTimeSpan,
            cancellationToken);
    }

    /// <summary>Completes when every mailbox is caught up or has given up (polling mode <see cref="PollingMode.Once"/>).</summary>
    public async Task<List<MailboxStatus>> WhenCaughtUpAsync(CancellationToken cancellationToken)
    {
        var root = await supervisor.GetAsync(cancellationToken);
        return await root.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), Timeout.InfiniteTimeSpan, cancellationToken);
    }

    public async Task<List<MailboxStatus>> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var root = await supervisor.GetAsync(cancellationToken);
        return await root.Ask<List<MailboxStatus>>(new IngestionProtocol.GetStatus(), AskTimeout, cancellationToken);
    }

    /// <summary>The node-wide admission gate: emails and bytes in flight, its limits and its peaks.</summary>
    public async Task<ImapActors.Ingestion.Admission.AdmissionStats> GetAdmissionAsync(CancellationToken cancellationToken = default)
    {
        var root = await supervisor.GetAsync(cancellationToken);
        return await root.Ask<ImapActors.Ingestion.Admission.AdmissionStats>(new IngestionProtocol.GetAdmission(), AskTimeout, cancellationToken);
    }

    /// <summary>
    /// Stops every mailbox: no new batch is fetched, and the batches in flight get <paramref name="timeout"/> to commit.
    /// What is not committed by then moved no cursor and is fetched again at the next start. Returns the final statuses.
    /// </summary>
    public async Task<IReadOnlyList<MailboxStatus>> StopMailboxesAsync(TimeSpan timeout)
    {
        if (_final is { } done)
        {
            return done;
        }

        var root = await supervisor.GetAsync();
        try
        {
            await root.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), timeout);
        }
        catch (AskTimeoutException)
        {
            // The actor system's termination stops what did not stop in time; nothing uncommitted moved a cursor.
        }

        _final = await root.Ask<List<MailboxStatus>>(new IngestionProtocol.GetStatus(), AskTimeout);
        return _final;
    }
}
