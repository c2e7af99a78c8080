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
    OAuthCommand.Create(),
    ParseCommand.Create(),
    SamplesCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
