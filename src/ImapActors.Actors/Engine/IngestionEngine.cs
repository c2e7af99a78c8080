using Akka.Actor;
using Akka.Configuration;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Pipeline;
using ImapActors.Actors.Sink;
using ImapActors.Configuration;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;
using ImapActors.Storage;

namespace ImapActors.Actors.Engine;

/// <summary>What a caller may replace when starting the engine (tests inject faults here).</summary>
public sealed record EngineOptions
{
    /// <summary>Poll every mailbox until it is caught up, then stop polling.</summary>
    public bool Once { get; init; }

    /// <summary>Start no mailbox actor: only the pools and the sink, for one-off ingestion.</summary>
    public bool PipelineOnly { get; init; }

    public Func<IVault, IEmailProcessing>? Processing { get; init; }

    public IMailboxConnector? Connector { get; init; }

    public Func<AssetSettings, IAccessTokenProvider?>? Tokens { get; init; }

    /// <summary>Extra Akka configuration, taking precedence over the engine's.</summary>
    public Config? Akka { get; init; }
}

/// <summary>
/// The composition root: opens the store and the vault, starts the actor system with persistence for the configured
/// store, and the ingestion supervisor under it.
/// </summary>
public sealed class IngestionEngine : IAsyncDisposable
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);

    private readonly IActorRef _supervisor;

    private IngestionEngine(ActorSystem system, IActorRef supervisor, IContainerStore store, FileVault vault, EngineSettings settings)
    {
        System = system;
        _supervisor = supervisor;
        Store = store;
        Vault = vault;
        Settings = settings;
    }

    public ActorSystem System { get; }

    public IContainerStore Store { get; }

    public FileVault Vault { get; }

    public EngineSettings Settings { get; }

    public static async Task<IngestionEngine> StartAsync(EngineSettings settings, EngineOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var store = ContainerStoreFactory.Create(settings.Storage);
        try
        {
            await store.InitializeAsync(cancellationToken);
            var vault = new FileVault(settings.VaultPath);
            var threads = settings.ParserPoolSize > 0 ? settings.ParserPoolSize : Environment.ProcessorCount;
            var config = (options.Akka ?? Config.Empty)
                .WithFallback(PersistenceConfig.For(settings.Storage))
                .WithFallback(EngineHocon.Base(threads));
            var system = ActorSystem.Create("imapactors", config);
            var processing = options.Processing?.Invoke(vault) ?? new DefaultEmailProcessing(vault);
            var connector = options.Connector ?? new ImapMailboxConnector(settings, options.Tokens ?? (_ => null));
            var services = new EngineServices(
                options.PipelineOnly ? settings with { Assets = [] } : settings,
                store, vault, processing, connector, ParserInfo.Version);
            var supervisor = system.ActorOf(IngestionSupervisor.Props(services, options.Once), "ingestion");
            return new IngestionEngine(system, supervisor, store, vault, settings);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>With <see cref="EngineOptions.Once"/>: completes when every mailbox is caught up or has given up.</summary>
    public Task<List<MailboxStatus>> WhenCaughtUpAsync(CancellationToken cancellationToken) =>
        _supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.WhenCaughtUp(), Timeout.InfiniteTimeSpan, cancellationToken);

    public Task<List<MailboxStatus>> GetStatusAsync() =>
        _supervisor.Ask<List<MailboxStatus>>(new IngestionProtocol.GetStatus(), AskTimeout);

    /// <summary>Stops taking new batches, lets the batches in flight commit, and waits for every mailbox to stop.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        try
        {
            await _supervisor.Ask<IngestionProtocol.Stopped>(new IngestionProtocol.StopAll(), timeout);
        }
        catch (AskTimeoutException)
        {
            // The actor system's shutdown below stops what did not stop in time; nothing uncommitted moved a cursor.
        }
    }

    /// <summary>
    /// Ingests one email through the same pools and sink as polling (get email, poll now, quarantine retries), and
    /// returns the commit result. Idempotent on the email's (asset, folder, UIDVALIDITY, UID).
    /// </summary>
    public async Task<CommitResult> IngestAsync(RawEmail raw, EmailSource source, ExtractionSettings settings, string label,
        CancellationToken cancellationToken)
    {
        return await _supervisor.Ask<CommitResult>(new IngestionProtocol.IngestOne(raw, source, settings, label),
            Timeout.InfiniteTimeSpan, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        await Store.DisposeAsync();
    }
}
