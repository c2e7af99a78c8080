using Akka.Actor;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ImapActors.Host;

/// <summary>
/// A started engine host (<see cref="EngineComposition"/>) and the services a caller uses on it. A CLI verb starts one
/// for its duration; <c>run</c> keeps it until stopped. Disposing it stops the host gracefully.
/// </summary>
public sealed class IngestionEngine : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private IngestionEngine(IHost host)
    {
        _host = host;
        Services = host.Services;
    }

    public IServiceProvider Services { get; }

    public EngineSettings Settings => Services.GetRequiredService<EngineSettings>();

    public ActorSystem System => Services.GetRequiredService<ActorSystem>();

    public IContainerStore Store => Services.GetRequiredService<IContainerStore>();

    public IVault Vault => Services.GetRequiredService<IVault>();

    public IngestionService Ingestion => Services.GetRequiredService<IngestionService>();

    public TestConnectivity TestConnectivity => Services.GetRequiredService<TestConnectivity>();

    public GetEmail GetEmail => Services.GetRequiredService<GetEmail>();

    public PollNow PollNow => Services.GetRequiredService<PollNow>();

    public QuarantineRetry QuarantineRetry => Services.GetRequiredService<QuarantineRetry>();

    /// <summary>Fires when the host is asked to stop (SIGINT/SIGTERM when it handles them, or <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    /// <summary>Builds and starts the host: the store's tables exist and the actor tree runs when this completes.</summary>
    public static async Task<IngestionEngine> StartAsync(EngineSettings settings, EngineOptions options, CancellationToken cancellationToken)
    {
        var host = EngineComposition.CreateBuilder(settings, options).Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new IngestionEngine(host);
    }

    /// <summary>With <see cref="PollingMode.Once"/>: completes when every mailbox is caught up or has given up.</summary>
    public Task<List<MailboxStatus>> WhenCaughtUpAsync(CancellationToken cancellationToken) => Ingestion.WhenCaughtUpAsync(cancellationToken);

    public Task<List<MailboxStatus>> GetStatusAsync() => Ingestion.GetStatusAsync();

    /// <summary>Stops the mailboxes only, letting the batches in flight commit; the host keeps running.</summary>
    public Task<IReadOnlyList<MailboxStatus>> StopGracefullyAsync(TimeSpan timeout) => Ingestion.StopMailboxesAsync(timeout);

    /// <summary>
    /// Stops the host: the mailboxes stop and their batches in flight commit (within the configured shutdown timeout),
    /// then the actor system terminates and the store closes. Returns the mailboxes' final statuses.
    /// </summary>
    public async Task<IReadOnlyList<MailboxStatus>> StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync();
        }

        return Ingestion.FinalStatuses ?? [];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }
}
