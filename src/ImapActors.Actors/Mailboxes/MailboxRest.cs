using Akka.Actor;
using ImapActors.Mail;

namespace ImapActors.Actors.Mailboxes;

/// <summary>
/// What a mailbox does with its connection between polls, within the asset's connection budget: a poll starts only on a
/// granted connection; between polls the connection rests (in IDLE when the server offers it, so new mail starts a poll
/// at once) and is given up (LOGOUT) when another folder of the asset waits for one.
/// </summary>
internal sealed class MailboxRest(MailboxOptions options, IActorRef self, MailboxImap imap, MailboxEffects effects)
{
    // With a budget: this mailbox holds one of the asset's connections.
    private bool _holds;

    /// <summary>Every folder of the asset fits the budget, so the login may start with the actor; its grant is a formality.</summary>
    public bool MayLoginEarly => options.Connections is null || options.Asset.Folders.Count <= options.Asset.MaxConnections;

    /// <summary>True when a poll may start now (the budget hears it is busy); otherwise a connection is asked for and granted later.</summary>
    public bool MayPoll()
    {
        if (options.Connections is not { } budget)
        {
            return true;
        }

        budget.Tell(_holds ? ConnectionProtocol.Busy.Instance : ConnectionProtocol.Acquire.Instance, self);
        return _holds;
    }

    public void Granted() => _holds = true;

    /// <summary>The poll is done and the next is not due at once: the connection rests.</summary>
    public void Begin()
    {
        options.Connections?.Tell(ConnectionProtocol.Rest.Instance, self);
        Idle();
    }

    /// <summary>A poll is due: true when it may be planned at once, false when an IDLE must end first (its end brings the poll).</summary>
    public bool Wake() => !imap.Wake();

    /// <summary>Another folder waits: the connection is given up, after the IDLE on it has ended.</summary>
    public void Yield()
    {
        if (!imap.Yield())
        {
            GiveUp();
        }
    }

    /// <summary>An IDLE ended; true when a poll follows (new mail, a wake-up, a lost connection).</summary>
    public bool Ended(IdleEnded ended)
    {
        switch (effects.IdleEnded(ended))
        {
            case IdleOutcome.Poll:
                return true;
            case IdleOutcome.Yield:
                GiveUp();
                return false;
            case IdleOutcome.YieldThenPoll:
                GiveUp();
                return true;
            default:
                // IDLE ran its longest: issued again.
                Idle();
                return false;
        }
    }

    /// <summary>The mailbox failed: a server refusing one connection too many lowers the asset's budget.</summary>
    public void Failed(MailboxFailedException failed)
    {
        if (failed.Code == nameof(ImapFailureCause.TooManyConnections))
        {
            options.Connections?.Tell(ConnectionProtocol.Refused.Instance, self);
        }
    }

    private void Idle()
    {
        if (imap.CanIdle && !options.Once)
        {
            imap.IdleAsync().PipeTo(self);
        }
    }

    private void GiveUp()
    {
        imap.Close();
        _holds = false;
        options.Connections?.Tell(ConnectionProtocol.Release.Instance, self);
    }
}
