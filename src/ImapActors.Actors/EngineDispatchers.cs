namespace ImapActors.Actors;

/// <summary>Dispatcher names of the engine (configured in hocon/akka.conf).</summary>
public static class EngineDispatchers
{
    /// <summary>CPU-bound parse and extract work, kept off the default dispatcher so mailboxes and the sink stay responsive.</summary>
    public const string Pipeline = "imapactors.pipeline-dispatcher";
}
