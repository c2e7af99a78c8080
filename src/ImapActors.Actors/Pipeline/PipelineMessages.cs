using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;

namespace ImapActors.Actors.Pipeline;

/// <summary>
/// One email travelling through the pools, one way: mailbox, parser, extractor, sink. <see cref="ReplyTo"/> owns the
/// batch <see cref="Ticket"/>: the sink stages the processed email under it and tells it so; a stage that fails tells it
/// that instead. Neither answer carries the extraction's result.
/// </summary>
/// <remarks>The raw bytes stay owned by whoever sent the item (the mailbox keeps them for retries and quarantine).</remarks>
public sealed record WorkItem(long Ticket, EmailSource Source, RawEmail Raw, ExtractionSettings Settings, string Label, int Attempt, IActorRef ReplyTo);

/// <summary>Marker of the pipeline's local messages (they hold streams and parsed trees and never cross a wire).</summary>
public interface IPipelineMessage : INoSerializationVerificationNeeded;

/// <summary>Messages between the mailbox, the parser pool and the extractor pool.</summary>
public static class PipelineMessages
{
    /// <summary>Parse this email's MIME structure, then hand it to the extractors.</summary>
    public sealed record ParseEmail(WorkItem Item) : IPipelineMessage;

    /// <summary>Extract artifacts and vault files from a parsed email, then stage the result in the sink.</summary>
    public sealed record ExtractEmail(WorkItem Item, IParsedEmail Parsed) : IPipelineMessage;

    /// <summary>A stage threw: the owner retries the email or quarantines it.</summary>
    public sealed record EmailFailed(WorkItem Item, string Stage, string Error) : IPipelineMessage, IDeadLetterSuppression;
}
