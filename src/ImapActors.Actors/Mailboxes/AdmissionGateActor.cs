using Akka.Actor;
using Akka.Event;
using ImapActors.Domain;
using ImapActors.Ingestion.Admission;

namespace ImapActors.Actors.Mailboxes;

/// <summary>Marker of the admission gate's local messages.</summary>
public interface IAdmissionMessage : INoSerializationVerificationNeeded;

/// <summary>What mailboxes and the admission gate say to each other; the sender is the holder of the credit.</summary>
public static class AdmissionProtocol
{
    /// <summary>
    /// Asks for credit for the next fetch, emails of these sizes (RFC822.SIZE) in fetch order; answered, once there is
    /// room, with <see cref="CreditGranted"/>.
    /// </summary>
    public sealed record RequestCredit(IReadOnlyList<long> Sizes) : IAdmissionMessage;

    /// <summary>Credit for the first this many emails of the request: fetch those.</summary>
    public sealed record CreditGranted(int Emails) : IAdmissionMessage, IDeadLetterSuppression;

    /// <summary>Withdraws the waiting request, or gives back a grant not fetched.</summary>
    public sealed record CancelCredit : IAdmissionMessage
    {
        public static CancelCredit Instance { get; } = new();
    }

    /// <summary>The granted fetch brought these bytes (RFC822.SIZE of the emails that were still there).</summary>
    public sealed record ChargeFetched(long Bytes) : IAdmissionMessage;

    /// <summary>Gives back the credit of settled emails.</summary>
    public sealed record ReleaseCredit(int Emails, long Bytes) : IAdmissionMessage;

    /// <summary>Answered with the gate's <see cref="AdmissionStats"/>.</summary>
    public sealed record GetAdmissionStats : IAdmissionMessage
    {
        public static GetAdmissionStats Instance { get; } = new();
    }
}

/// <summary>
/// The node-wide admission gate around <see cref="AdmissionGate{THolder}"/>: one per process, asked by every mailbox
/// before it fetches. It watches each holder, so the credit of a mailbox that crashes or stops comes back at once.
/// </summary>
public sealed class AdmissionGateActor : ReceiveActor
{
    private AdmissionGate<IActorRef> _gate;

    public AdmissionGateActor(AdmissionLimits limits)
    {
        _gate = AdmissionGate.Open<IActorRef>(limits);
        Receive<AdmissionProtocol.RequestCredit>(msg =>
        {
            Context.Watch(Sender);
            Apply(_gate.Request(Sender, msg.Sizes));
        });
        Receive<AdmissionProtocol.CancelCredit>(_ => Apply(_gate.Cancel(Sender)));
        Receive<AdmissionProtocol.ChargeFetched>(msg => Apply(_gate.Charge(Sender, msg.Bytes)));
        Receive<AdmissionProtocol.ReleaseCredit>(msg => Apply(_gate.Release(Sender, msg.Emails, msg.Bytes)));
        Receive<Terminated>(t => Apply(_gate.Remove(t.ActorRef)));
        Receive<AdmissionProtocol.GetAdmissionStats>(_ => Sender.Tell(_gate.Stats));
    }

    private void Apply(AdmissionStep<IActorRef> step)
    {
        _gate = step.Gate;
        foreach (var grant in step.Grants)
        {
            grant.Holder.Tell(new AdmissionProtocol.CreditGranted(grant.Emails));
        }
    }

    public static Props Props(AdmissionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var limits = new AdmissionLimits(settings.MaxEmails, settings.MaxBytes);
        return Akka.Actor.Props.Create(() => new AdmissionGateActor(limits));
    }
}
