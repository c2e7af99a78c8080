using System.CommandLine;
using ImapActors.Cli.Commands;

var root = new RootCommand("ImapActors: ingest phishing-report mailboxes into cases (containers) and artifacts.")
{
    RunCommand.Create(),
    TestConnectivityCommand.Create(),
    GetEmailCommand.Create(),
    PollNowCommand.Create(),
    ContainersCommand.Create(),
    QuarantineCommand.Create(),
    DeliveriesCommand.Create(),
    ClusterCommand.Create(),
    OAuthCommand.Create(),
    ParseCommand.Create(),
    SamplesCommand.Create(),
};

// Stop signals belong to the engine's host (the batches in flight commit first), not to the command-line library, which
// would end the process a fixed two seconds after the signal.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }).ConfigureAwait(false);
