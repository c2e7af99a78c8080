using System.CommandLine;
using ImapActors.Cli.Commands;

var root = new RootCommand("ImapActors: ingest phishing-report mailboxes into cases (containers) and artifacts.")
{
    RunCommand.Create(),
    ContainersCommand.Create(),
    QuarantineCommand.Create(),
    ParseCommand.Create(),
    SamplesCommand.Create(),
    OAuthCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
