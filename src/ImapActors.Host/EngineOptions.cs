using Akka.Configuration;
using ImapActors.Actors.Pipeline;
using ImapActors.Domain;
using Microsoft.Extensions.DependencyInjection;

namespace ImapActors.Host;

/// <summary>Whether the host polls the configured mailboxes.</summary>
public enum PollingMode
{
    /// <summary>No mailbox actor runs: the pools, the sink and the actions only (the one-off CLI verbs).</summary>
    Off,

    /// <summary>Every mailbox polls on its interval until the host stops (<c>run</c>).</summary>
    Scheduled,

    /// <summary>Every mailbox polls until it is caught up (<c>run --once</c>).</summary>
    Once,
}

/// <summary>What a caller may choose or replace when starting the engine's host (tests inject faults here).</summary>
public sealed record EngineOptions
{
    public PollingMode Polling { get; init; } = PollingMode.Off;

    /// <summary>The OAuth token providers; <see cref="AccessTokens.None"/> when not given.</summary>
    public AccessTokens? Tokens { get; init; }

    /// <summary>Replaces the parse and extract work (fault injection).</summary>
    public Func<IVault, IEmailProcessing>? Processing { get; init; }

    /// <summary>Replaces the IMAP connections of the mailbox actors (fault injection).</summary>
    public IMailboxConnector? Connector { get; init; }

    /// <summary>
    /// Features added to the host after the engine's own (the HTTP API): their hosted services start once the actor
    /// system runs, and stop before it.
    /// </summary>
    public Action<IServiceCollection>? Features { get; init; }

    /// <summary>Extra Akka configuration, taking precedence over the engine's.</summary>
    public Config? Akka { get; init; }

    /// <summary>
    /// Whether SIGINT and SIGTERM stop the host (the batches in flight commit first). Off for hosts that a test or
    /// another program starts in its own process.
    /// </summary>
    public bool HandleStopSignals { get; init; }
}
