using Akka.Actor;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Actors.Ingestion;

/// <summary>Takes one email through the parser pool, the extractor pool and the sink, then stops.</summary>
internal sealed class OneShotIngestion : ReceiveActor
{
    public OneShotIngestion(IngestionProtocol.Pipeline pipeline, RawEmail raw, EmailSource source, ExtractionSettings settings,
        string label, TaskCompletionSource<CommitResult> completion)
    {
        Receive<PipelineMessages.EmailProcessed>(msg =>
            pipeline.Sink.Tell(new SinkProtocol.CommitBatch(1, [new Storage.EmailToCommit(msg.Email, msg.RawEmail)])));
        Receive<PipelineMessages.EmailFailed>(msg => Finish(() =>
            completion.TrySetException(new InvalidOperationException($"Ingestion failed at {msg.Stage}: {msg.Error}"))));
        Receive<SinkProtocol.BatchCommitted>(msg => Finish(() => completion.TrySetResult(msg.Results[0])));
        Receive<SinkProtocol.BatchFailed>(msg => Finish(() =>
            completion.TrySetException(new InvalidOperationException($"Storing the email failed: {msg.Error}"))));

        pipeline.Parsers.Tell(new PipelineMessages.ParseEmail(new WorkItem(1, source, raw, settings, label, 1, Self)));
    }

    private void Finish(Action complete)
    {
        complete();
        Context.Stop(Self);
    }
}
