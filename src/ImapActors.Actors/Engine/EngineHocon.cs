using Akka.Configuration;

namespace ImapActors.Actors.Engine;

/// <summary>The Akka configuration the engine always runs with: logging through Serilog, the pipeline dispatcher and the
/// cursor serializer. Persistence is added per store by the configuration project.</summary>
public static class EngineHocon
{
    /// <summary>The engine's Akka defaults (hocon/akka.conf documents the same keys).</summary>
    public static Config Base(int pipelineThreads) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = INFO
          stdout-loglevel = WARNING
          loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
          logger-formatter = "Akka.Logger.Serilog.SerilogLogMessageFormatter, Akka.Logger.Serilog"
          log-dead-letters = 0
          log-dead-letters-during-shutdown = off
          actor {
            serializers {
              imapactors-cursor = "ImapActors.Actors.Serialization.CursorSerializer, ImapActors.Actors"
            }
            serialization-bindings {
              "ImapActors.Actors.Cursor.ICursorEvent, ImapActors.Actors" = imapactors-cursor
              "ImapActors.Actors.Cursor.CursorSnapshot, ImapActors.Actors" = imapactors-cursor
            }
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        imapactors.pipeline-dispatcher {
          type = ForkJoinDispatcher
          throughput = 1
          dedicated-thread-pool {
            thread-count = {{Math.Max(1, pipelineThreads)}}
          }
        }
        """);
}
