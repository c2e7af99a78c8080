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

                VaultFile raw;
                using (var stream = item.Raw.OpenRead())
                {
                    raw = vault.Store(stream, "raw.eml");
                }

                Engine.EngineMeter.Extract.Record(Engine.EngineMeter.Since(started));
                sink.Tell(new SinkProtocol.StageEmail(item.ReplyTo, item.Ticket, item.Source.Uid, new EmailToCommit(processed, raw.VaultId)));
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
