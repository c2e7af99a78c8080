using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ImapActors.Extraction.Tests")]
[assembly: InternalsVisibleTo("ImapActors.Benchmarks")]
