namespace ImapActors.Extraction.Tests;
