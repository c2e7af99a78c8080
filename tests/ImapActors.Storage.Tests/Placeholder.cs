namespace ImapActors.Storage.Tests;
