using Akka.Configuration;
using ImapActors.Actors.Engine;

namespace ImapActors.Actors.Tests;

/// <summary>The Akka configuration the actor tests run with: the engine's own, persistence in memory.</summary>
internal static class TestConfig
{
    private static readonly Config InMemory = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        """);

    public static Config InMemoryPersistence(int pipelineThreads = 2) => InMemory.WithFallback(EngineHocon.Base(pipelineThreads));
}
