namespace ImapActors.Configuration.Tests;
