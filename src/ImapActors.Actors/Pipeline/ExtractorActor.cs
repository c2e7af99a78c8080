using System.Security.Cryptography;
using Akka.Actor;
using Akka.Event;
using Akka.Routing;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Pipeline;

/// <summary>
/// Turns a parsed email into its container, artifacts and vault files, keeps its raw bytes in the vault, and stages the
/// result in the sink under the owner's batch: the result goes forward, never back to the mailbox.
/// </summary>
public sealed class ExtractorActor : ReceiveActor
{
    /// <summary>
    /// Raw emails up to this size are kept in the store with their container, larger ones in the vault. Measured side by
    /// side (docs/performance.md, "Raw emails in the store"): below it the store saves a file per email, above it SQLite's
    /// write-ahead log, which writes every byte twice, costs more than the file.
    /// </summary>
    public const int InStoreRawMaxBytes = 16 * 1024;

    public ExtractorActor(IEmailProcessing processing, IVault vault, IActorRef sink)
    {
        var log = Context.GetLogger();
        Receive<PipelineMessages.ExtractEmail>(msg =>
        {
            var item = msg.Item;
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                ProcessedEmail processed;
                using (msg.Parsed)
                {
                    processed = processing.Extract(msg.Parsed, item.Settings, item.Label);
                }

                EmailToCommit email;
                if (!item.Raw.IsFileBacked && item.Raw.Length <= InStoreRawMaxBytes)
                {
                    // A small email: its bytes commit with their container, in its transaction, named by their SHA-1 as a
                    // vault file would be; no file per email.
                    var bytes = item.Raw.ToArray();
                    email = new EmailToCommit(processed, new VaultId(Convert.ToHexStringLower(SHA1.HashData(bytes)))) { RawBytes = bytes };
                }
                else
                {
                    using var stream = item.Raw.OpenRead();
                    email = new EmailToCommit(processed, vault.Store(stream, "raw.eml").VaultId);
                }

                Engine.EngineMeter.Extract.Record(Engine.EngineMeter.Since(started));
                sink.Tell(new SinkProtocol.StageEmail(item.ReplyTo, item.Ticket, item.Source.Uid, email));
            }
            catch (Exception ex)
            {
                log.Warning(ex, "Extracting UID {Uid} of {Mailbox} failed", item.Source.Uid, item.Source.Mailbox);
                item.ReplyTo.Tell(new PipelineMessages.EmailFailed(item, "extract", ex.Message));
            }
        });
    }

    /// <summary>A pool of extractors; restarted one by one as the parser pool is.</summary>
    public static Props PoolProps(IEmailProcessing processing, IVault vault, IActorRef sink, int size) =>
        Props.Create(() => new ExtractorActor(processing, vault, sink))
            .WithRouter(new SmallestMailboxPool(size))
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart))
            .WithDispatcher(EngineDispatchers.Pipeline);
}
