using Akka.Actor;
using Akka.Event;
using Akka.Routing;

namespace ImapActors.Actors.Pipeline;

/// <summary>Parses an email's MIME structure (CPU work) and passes it on to the extractor pool.</summary>
public sealed class ParserActor : ReceiveActor
{
    public ParserActor(IEmailProcessing processing, IActorRef extractors)
    {
        var log = Context.GetLogger();
        Receive<PipelineMessages.ParseEmail>(msg =>
        {
            try
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var parsed = processing.Parse(msg.Item.Raw, msg.Item.Source, msg.Item.Settings.Limits);
                Engine.EngineMeter.Parse.Record(Engine.EngineMeter.Since(started));
                extractors.Tell(new PipelineMessages.ExtractEmail(msg.Item, parsed));
            }
            catch (Exception ex)
            {
                log.Warning(ex, "Parsing UID {Uid} of {Mailbox} failed", msg.Item.Source.Uid, msg.Item.Source.Mailbox);
                msg.Item.ReplyTo.Tell(new PipelineMessages.EmailFailed(msg.Item, "parse", ex.Message));
            }
        });
    }

    /// <summary>
    /// A pool of parsers. Work is bounded upstream (the admission gate bounds the emails in flight across mailboxes), so
    /// the routees' queues are too. A parser that throws outside its own catch is restarted alone; the mailbox notices the
    /// lost email by its batch timeout and tries again.
    /// </summary>
    public static Props PoolProps(IEmailProcessing processing, IActorRef extractors, int size) =>
        Props.Create(() => new ParserActor(processing, extractors))
            .WithRouter(new SmallestMailboxPool(size))
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart))
            .WithDispatcher(EngineDispatchers.Pipeline);
}
