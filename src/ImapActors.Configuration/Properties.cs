using System.Runtime.CompilerServices;

// The test that keeps the documented defaults file and the settings records in step reads the key tables.
[assembly: InternalsVisibleTo("ImapActors.Configuration.Tests")]
