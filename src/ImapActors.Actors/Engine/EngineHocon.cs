using Akka.Configuration;
using ImapActors.Configuration;

namespace ImapActors.Actors.Engine;

/// <summary>The Akka configuration the engine always runs with: hocon/akka.conf, with the pipeline sized to the pools.</summary>
public static class EngineHocon
{
    public static Config Base(int pipelineThreads) =>
        ConfigurationFactory.ParseString($"imapactors.pipeline-dispatcher.dedicated-thread-pool.thread-count = {Math.Max(1, pipelineThreads)}")
            .WithFallback(PersistenceConfig.AkkaDefaults);
}
