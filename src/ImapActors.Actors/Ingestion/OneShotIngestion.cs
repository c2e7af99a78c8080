using Akka.Actor;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Ingestion;

/// <summary>Takes one email through the parser pool, the extractor pool and the sink, then stops.</summary>
internal sealed class OneShotIngestion : ReceiveActor
{
    public OneShotIngestion(IngestionProtocol.Pipeline pipeline, IngestionProtocol.IngestOne request, IActorRef replyTo)
    {
        Receive<PipelineMessages.EmailProcessed>(msg =>
            pipeline.Sink.Tell(new SinkProtocol.CommitBatch(1, [new Storage.EmailToCommit(msg.Email, msg.RawEmail)])));
        Receive<PipelineMessages.EmailFailed>(msg =>
            Finish(new Status.Failure(new InvalidOperationException($"Ingestion failed at {msg.Stage}: {msg.Error}"))));
        Receive<SinkProtocol.BatchCommitted>(msg => Finish(msg.Results[0]));
        Receive<SinkProtocol.BatchFailed>(msg =>
            Finish(new Status.Failure(new InvalidOperationException($"Storing the email failed: {msg.Error}"))));

        pipeline.Parsers.Tell(new PipelineMessages.ParseEmail(
            new WorkItem(1, request.Source, request.Raw, request.Settings, request.Label, 1, Self)));

        void Finish(object answer)
        {
            replyTo.Tell(answer);
            Context.Stop(Self);
        }
    }
}
