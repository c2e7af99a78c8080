using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Sink;

/// <summary>Marker of messages to and from the sink.</summary>
public interface ISinkMessage : INoSerializationVerificationNeeded;

/// <summary>The sink's protocol.</summary>
public static class SinkProtocol
{
    /// <summary>Commit these emails in one transaction.</summary>
    public sealed record CommitBatch(long BatchId, IReadOnlyList<EmailToCommit> Emails) : ISinkMessage;

    /// <summary>Keep a poison email's raw bytes and error, so the cursor can move past it.</summary>
    public sealed record QuarantineEmail(long Ticket, EmailSource Source, RawEmail Raw, string Stage, string Error, string ParserVersion, int Attempts) : ISinkMessage;

    public sealed record BatchCommitted(long BatchId, IReadOnlyList<CommitResult> Results) : ISinkMessage, IDeadLetterSuppression;

    public sealed record BatchFailed(long BatchId, string Error) : ISinkMessage, IDeadLetterSuppression;

    public sealed record EmailQuarantined(long Ticket, long QuarantineId) : ISinkMessage, IDeadLetterSuppression;

    public sealed record QuarantineFailed(long Ticket, string Error) : ISinkMessage, IDeadLetterSuppression;
}

/// <summary>
/// Owns the container store and writes to it one batch at a time: SQLite has one writer anyway, and one writer per store
/// keeps commits ordered. A failed write is answered, never thrown, so one bad batch does not restart the sink.
/// </summary>
public sealed class SinkActor : ReceiveActor
{
    private readonly IContainerStore _store;
    private readonly IVault _vault;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();

    public SinkActor(IContainerStore store, IVault vault)
    {
        _store = store;
        _vault = vault;

        // ReceiveAsync suspends this actor's mailbox while a write runs: writes never overlap.
        ReceiveAsync<SinkProtocol.CommitBatch>(async msg =>
        {
            var replyTo = Sender;
            try
            {
                var results = await _store.CommitAsync(msg.Emails, _stopping.Token);
                replyTo.Tell(new SinkProtocol.BatchCommitted(msg.BatchId, results));
            }
            catch (Exception ex)
            {
                _log.Warning(ex, "Committing batch {Batch} of {Count} emails failed", msg.BatchId, msg.Emails.Count);
                replyTo.Tell(new SinkProtocol.BatchFailed(msg.BatchId, ex.Message));
            }
        });

        ReceiveAsync<SinkProtocol.QuarantineEmail>(async msg =>
        {
            var replyTo = Sender;
            try
            {
                VaultFile raw;
                using (var stream = msg.Raw.OpenRead())
                {
                    raw = _vault.Store(stream, "raw.eml");
                }

                var id = await _store.QuarantineAsync(msg.Source, raw.VaultId, msg.Stage, msg.Error, msg.ParserVersion,
                    msg.Attempts, _stopping.Token);
                _log.Warning("Quarantined UID {Uid} of {Mailbox} after {Attempts} attempts ({Stage}: {Error}) as quarantine id {QuarantineId}",
                    msg.Source.Uid, msg.Source.Mailbox, msg.Attempts, msg.Stage, msg.Error, id);
                replyTo.Tell(new SinkProtocol.EmailQuarantined(msg.Ticket, id));
            }
            catch (Exception ex)
            {
                _log.Error(ex, "Quarantining UID {Uid} of {Mailbox} failed", msg.Source.Uid, msg.Source.Mailbox);
                replyTo.Tell(new SinkProtocol.QuarantineFailed(msg.Ticket, ex.Message));
            }
        });
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        base.PostStop();
    }

    public static Props Props(IContainerStore store, IVault vault) =>
        Akka.Actor.Props.Create(() => new SinkActor(store, vault));
}
