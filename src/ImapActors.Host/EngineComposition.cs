using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Hosting;
using ImapActors.Actors.Cluster;
using ImapActors.Actors.Engine;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Pipeline;
using ImapActors.Configuration;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Host.Actions;
using ImapActors.Mail;
using ImapActors.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImapActors.Host;

/// <summary>
/// The engine's composition root: one host per process, one actor system in it. Each feature is one extension below,
/// in the order the host starts them (the store is ready before the actors that write to it).
/// </summary>
public static class EngineComposition
{
    /// <summary>The name of the engine's one actor system.</summary>
    public const string ActorSystemName = "imapactors";

    private static int _actorSystemsStarted;

    /// <summary>Actor systems this process has started through the composition root (one per host).</summary>
    public static int ActorSystemsStarted => Volatile.Read(ref _actorSystemsStarted);

    /// <summary>A host for <paramref name="settings"/>: storage, OAuth, ingestion and the actions.</summary>
    public static HostApplicationBuilder CreateBuilder(EngineSettings settings, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);

        // No appsettings.json, environment or command-line configuration: the engine's HOCON file is its only input.
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout + TimeSpan.FromSeconds(15));
        if (options.HandleStopSignals)
        {
            builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        }
        else
        {
            builder.Services.AddSingleton<IHostLifetime, ProcessOwnedLifetime>();
        }

        builder.Services
            .AddStorage(settings)
            .AddOAuth(options.Tokens ?? AccessTokens.None)
            .AddImap()
            .AddIngestion(settings, options)
            .AddActions();
        options.Features?.Invoke(builder.Services);
        return builder;
    }

    /// <summary>
    /// The container store (initialized when the host starts) and the vault <c>vault.store</c> names, as <see cref="IVault"/>:
    /// consumers never depend on where the files are kept.
    /// </summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, EngineSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(_ => ContainerStoreFactory.Create(settings.Storage));
        services.AddSingleton(_ => VaultFactory.Create(settings));
        services.AddHostedService<StoreInitializer>();
        return services;
    }

    /// <summary>The OAuth token providers, one per asset, shared by its mailboxes and the actions.</summary>
    public static IServiceCollection AddOAuth(this IServiceCollection services, AccessTokens tokens) =>
        services.AddSingleton(tokens);

    /// <summary>IMAP sessions on real servers, for the mailboxes and the actions.</summary>
    public static IServiceCollection AddImap(this IServiceCollection services) =>
        services.AddSingleton<IImapSessionFactory>(ImapSessionFactory.Default);

    /// <summary>
    /// The actor system with persistence on the configured store, the ingestion supervisor (pools, sink and, unless
    /// polling is off, one mailbox per asset and folder) and the <see cref="IngestionService"/> over it. On stop, the
    /// batches in flight commit before the actor system terminates.
    /// </summary>
    public static IServiceCollection AddIngestion(this IServiceCollection services, EngineSettings settings, EngineOptions options)
    {
        services.AddSingleton<IEmailProcessing>(sp =>
            options.Processing?.Invoke(sp.GetRequiredService<IVault>()) ?? new DefaultEmailProcessing(sp.GetRequiredService<IVault>()));
        services.AddSingleton<IMailboxConnector>(sp => options.Connector
            ?? new ImapMailboxConnector(settings, sp.GetRequiredService<AccessTokens>().For, sp.GetRequiredService<IImapSessionFactory>()));
        services.AddSingleton<IngestionService>();
        // Only a polling node joins the cluster; the one-off verbs (polling off) run on a local actor system.
        var clustered = IsClusterNode(settings, options);
        services.AddAkka(ActorSystemName, (akka, sp) =>
        {
            if (clustered)
            {
                akka.AddHocon(ClusterConfig.For(settings, ActorSystemName), HoconAddMode.Prepend);
            }

            if (options.Akka is { } extra)
            {
                akka.AddHocon(extra, HoconAddMode.Prepend);
            }

            akka.AddHocon(EngineHocon(settings), HoconAddMode.Append)
                .WithActors((system, registry, _) =>
                {
                    Interlocked.Increment(ref _actorSystemsStarted);
                    var engine = new EngineServices(
                        options.Polling == PollingMode.Off ? settings with { Assets = [] } : settings,
                        sp.GetRequiredService<IContainerStore>(),
                        sp.GetRequiredService<IVault>(),
                        sp.GetRequiredService<IEmailProcessing>(),
                        sp.GetRequiredService<IMailboxConnector>(),
                        ParserInfo.Version)
                    {
                        DeliverTo = settings.Assets.ToDictionary(a => a.Name.Value, a => a.DeliverTo, StringComparer.Ordinal),
                    };
                    var supervisor = system.ActorOf(IngestionSupervisor.Props(engine, options.Polling == PollingMode.Once, clustered), "ingestion");
                    registry.Register<IngestionSupervisor>(supervisor);
                    if (options.Polling == PollingMode.Scheduled)
                    {
                        StartDeliveries(system, settings, sp, clustered);
                    }

                    // Runs before the actor system terminates, whatever stops it (SIGTERM, the end of a verb, a test).
                    var ingestion = sp.GetRequiredService<IngestionService>();
                    CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "commit-batches-in-flight",
                        async () =>
                        {
                            await ingestion.StopMailboxesAsync(settings.ShutdownTimeout);
                            return Done.Instance;
                        });
                });
            if (clustered)
            {
                akka.WithMailboxSharding(settings);
            }
        });
        return services;
    }

    /// <summary>
    /// One delivery actor per destination, sending the outbox the sink's commits fill: in a cluster a singleton per
    /// destination (one sender cluster-wide, handed over when its node leaves), else a plain actor of this process.
    /// </summary>
    private static void StartDeliveries(ActorSystem system, EngineSettings settings, IServiceProvider services, bool clustered)
    {
        var store = services.GetRequiredService<IContainerStore>();
        var vault = services.GetRequiredService<IVault>();
        foreach (var destination in settings.Destinations)
        {
            var name = "delivery-" + Uri.EscapeDataString(destination.Name);
            var props = Actors.Delivery.DeliveryActor.Props(destination, store,
                () => Actors.Delivery.DestinationClients.Create(destination, settings, store, vault));
            system.ActorOf(clustered
                ? Akka.Cluster.Tools.Singleton.ClusterSingletonManager.Props(props, Actors.Delivery.DeliveryActor.Finish.Instance,
                    Akka.Cluster.Tools.Singleton.ClusterSingletonManagerSettings.Create(system).WithRole(ClusterConfig.Role))
                : props, name);
        }
    }

    /// <summary>Whether this host is a node of the cluster: cluster mode is on and its mailboxes poll.</summary>
    public static bool IsClusterNode(EngineSettings settings, EngineOptions options) =>
        settings.Cluster.Enabled && options.Polling == PollingMode.Scheduled;

    /// <summary>
    /// The mailboxes as sharded entities (remembered in the sharding journal, so a lost node's mailboxes start again on
    /// the others) and the reconciler singleton that starts every configured mailbox once.
    /// </summary>
    private static AkkaConfigurationBuilder WithMailboxSharding(this AkkaConfigurationBuilder akka, EngineSettings settings)
    {
        var entities = settings.Assets.SelectMany(a => a.Folders.Select(f => new MailboxId(a.Name, f).StableId)).ToList();
        return akka
            .WithShardRegion<MailboxSharding.Region>(
                MailboxSharding.TypeName,
                (_, registry, _) => entityId => MailboxSharding.EntityProps(entityId, registry.Get<IngestionSupervisor>()),
                new MailboxSharding.MessageExtractor(),
                new ShardOptions
                {
                    Role = ClusterConfig.Role,
                    RememberEntities = true,
                    RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                    StateStoreMode = StateStoreMode.DData,
                    JournalPluginId = ClusterConfig.ShardingJournal,
                    SnapshotPluginId = ClusterConfig.ShardingSnapshots,
                    HandOffStopMessage = MailboxSharding.HandOff.Instance,
                })
            .WithSingleton<MailboxSharding.Reconciler>(
                "mailbox-reconciler",
                (_, registry, _) => MailboxReconciler.Props(entities, registry.Get<MailboxSharding.Region>(), TimeSpan.FromSeconds(15)),
                new ClusterSingletonOptions { Role = ClusterConfig.Role })
            .WithActors((system, _, resolver) => system.ActorOf(
                ClusterNodeReporter.Props(resolver.GetService<IContainerStore>(), settings.Cluster.NodeName, ClusterNodeReporter.Interval),
                "cluster-node-reporter"));
    }

    /// <summary>Test connectivity, get email, poll now and quarantine retry, as services of the running host.</summary>
    public static IServiceCollection AddActions(this IServiceCollection services)
    {
        services.AddSingleton<TestConnectivity>();
        services.AddSingleton<GetEmail>();
        services.AddSingleton<PollNow>();
        services.AddSingleton<QuarantineRetry>();
        return services;
    }

    /// <summary>hocon/akka.conf, the persistence plugins on the store, and the pipeline dispatcher sized to the pools.</summary>
    private static Config EngineHocon(EngineSettings settings)
    {
        var threads = settings.ParserPoolSize > 0 ? settings.ParserPoolSize : Environment.ProcessorCount;

        // The graceful stop runs in this phase: give it the configured time, and a little more for the status query.
        var phase = (int)Math.Ceiling(settings.ShutdownTimeout.TotalSeconds) + 5;
        return ConfigurationFactory.ParseString($"akka.coordinated-shutdown.phases.service-requests-done.timeout = {phase}s")
            .WithFallback(PersistenceConfig.For(settings.Storage))
            .WithFallback(Actors.Engine.EngineHocon.Base(threads));
    }

    /// <summary>Creates the store's tables before anything reads or writes them.</summary>
    private sealed class StoreInitializer(IContainerStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A lifetime that leaves signals to the process that owns the host (a test runner, a program embedding it).</summary>
    private sealed class ProcessOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
