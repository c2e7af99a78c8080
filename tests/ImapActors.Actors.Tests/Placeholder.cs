namespace ImapActors.Actors.Tests;
