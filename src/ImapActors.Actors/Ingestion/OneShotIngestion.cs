using Akka.Actor;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;

namespace ImapActors.Actors.Ingestion;

/// <summary>
/// Takes one email through the parser pool, the extractor pool and the sink, as a batch of one of its own, then stops.
/// It hears only outcomes: the email is staged (then it asks for the commit) or a stage failed.
/// </summary>
internal sealed class OneShotIngestion : ReceiveActor
{
    private const long Ticket = 1;

    public OneShotIngestion(IngestionProtocol.Pipeline pipeline, IngestionProtocol.IngestOne request, IActorRef replyTo)
    {
        Receive<SinkProtocol.EmailStaged>(msg => pipeline.Sink.Tell(new SinkProtocol.CommitStaged(1, Ticket, [msg.Uid])));
        Receive<PipelineMessages.EmailFailed>(msg =>
            Finish(new Status.Failure(new InvalidOperationException($"Ingestion failed at {msg.Stage}: {msg.Error}"))));
        Receive<SinkProtocol.BatchCommitted>(msg => Finish(msg.Results[0]));
        Receive<SinkProtocol.BatchFailed>(msg =>
            Finish(new Status.Failure(new InvalidOperationException($"Storing the email failed: {msg.Error}"))));

        pipeline.Parsers.Tell(new PipelineMessages.ParseEmail(
            new WorkItem(Ticket, request.Source, request.Raw, request.Settings, request.Label, 1, Self)));

        // The sink drops anything still staged for this actor when it stops (it watches its owners).
        void Finish(object answer)
        {
            replyTo.Tell(answer);
            Context.Stop(Self);
        }
    }
}
