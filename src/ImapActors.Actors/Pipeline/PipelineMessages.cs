using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;

namespace ImapActors.Actors.Pipeline;

/// <summary>One email travelling through the pools; <see cref="ReplyTo"/> hears how it ended.</summary>
/// <remarks>The raw bytes stay owned by whoever sent the item (the mailbox disposes them after commit).</remarks>
public sealed record WorkItem(long Ticket, EmailSource Source, RawEmail Raw, ExtractionSettings Settings, string Label, int Attempt, IActorRef ReplyTo);

/// <summary>Marker of the pipeline's local messages (they hold streams and parsed trees and never cross a wire).</summary>
public interface IPipelineMessage : INoSerializationVerificationNeeded;

/// <summary>Messages between the mailbox, the parser pool and the extractor pool.</summary>
public static class PipelineMessages
{
    /// <summary>Parse this email's MIME structure, then hand it to the extractors.</summary>
    public sealed record ParseEmail(WorkItem Item) : IPipelineMessage;

    /// <summary>Extract artifacts and vault files from a parsed email.</summary>
    public sealed record ExtractEmail(WorkItem Item, IParsedEmail Parsed) : IPipelineMessage;

    /// <summary>The email became a container; its raw bytes are in the vault under <paramref name="RawEmail"/>.</summary>
    public sealed record EmailProcessed(WorkItem Item, ProcessedEmail Email, VaultId RawEmail) : IPipelineMessage, IDeadLetterSuppression;

    /// <summary>A stage threw: the mailbox retries the email or quarantines it.</summary>
    public sealed record EmailFailed(WorkItem Item, string Stage, string Error) : IPipelineMessage, IDeadLetterSuppression;
}
