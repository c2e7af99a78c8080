namespace ImapActors.Cli.Tests;
