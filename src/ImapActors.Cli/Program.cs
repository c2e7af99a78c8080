using System.CommandLine;
using ImapActors.Cli.Commands;

var root = new RootCommand("ImapActors: ingest phishing-report mailboxes into cases and artifacts.")
{
    ParseCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
