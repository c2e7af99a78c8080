using System.CommandLine;
using System.Diagnostics;
using ImapActors.Host;
using ImapActors.Http;
using ImapActors.Actors.Ingestion;
using Serilog;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors run --config FILE [--once]</c>: scheduled polling of every asset, or one catch-up pass.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var once = new Option<bool>("--once") { Description = "Poll every mailbox until it is caught up, print a summary line per mailbox, and exit." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log debug detail." };
        var command = new Command("run", "Poll every configured mailbox and ingest its emails into containers.") { config, once, verbose };
        command.SetAction((result, cancellationToken) =>
            RunAsync(result.GetValue(config)!, result.GetValue(once), result.GetValue(verbose), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo configFile, bool once, bool verbose, CancellationToken cancellationToken)
    {
        var configuration = CliSupport.LoadConfiguration(configFile);
        if (configuration is null)
        {
            return CliSupport.UsageError;
        }

        var settings = configuration.Engine;
        if (once && settings.Cluster.Enabled)
        {
            // A pass outside the cluster would move the cursors the cluster's nodes own.
            Console.Error.WriteLine("run: --once is not available in cluster mode: the cluster's nodes poll the mailboxes (run without --once to start a node)");
            return CliSupport.UsageError;
        }

        CliSupport.ConfigureLogging(verbose ? LogEventLevel.Debug : LogEventLevel.Information);
        var clock = Stopwatch.StartNew();
        if (OAuthCommand.TokensFor(configuration, configFile) is not { } tokens)
        {
            return CliSupport.UsageError;
        }

        var options = new EngineOptions
        {
            Polling = once ? PollingMode.Once : PollingMode.Scheduled,
            Tokens = tokens,
            HandleStopSignals = true,
            // A one-off pass serves no API: it ends when the mailboxes are caught up.
            Features = settings.Http.Enabled && !once ? services => services.AddHttpApi() : null,
        };
        await using var engine = await IngestionEngine.StartAsync(settings, options, cancellationToken);
        Log.Information("Ingesting {Mailboxes} mailboxes of {Assets} assets into {Provider} ({Mode})",
            settings.Assets.Sum(a => a.Folders.Count), settings.Assets.Count, settings.Storage.Provider, once ? "once" : "scheduled");

        using var progress = new ProgressReporter(engine);
        progress.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, engine.Stopping);
        IReadOnlyList<MailboxStatus>? statuses = null;
        try
        {
            if (once)
            {
                statuses = await engine.WhenCaughtUpAsync(stop.Token);
            }
            else
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Log.Information("Stop requested: finishing the batches in flight (up to {Timeout})", settings.ShutdownTimeout);
        }

        await progress.StopAsync();

        // The host's stop lets the batches in flight commit before the actor system terminates.
        var final = await engine.StopAsync();
        statuses = final.Count > 0 ? final : statuses ?? [];
        foreach (var status in statuses.OrderBy(s => s.Mailbox.ToString(), StringComparer.Ordinal))
        {
            Console.WriteLine(Summary(status, clock.Elapsed));
        }

        Log.CloseAndFlush();
        return statuses.Any(s => s.GaveUp) ? 1 : 0;
    }

    internal static string Summary(MailboxStatus s, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? s.Fetched / elapsed.TotalSeconds : 0;
        var line = $"{s.Mailbox}: {s.Fetched} fetched ({CliSupport.Bytes(s.Bytes)}), {s.Created} created, {s.AlreadyIngested} already ingested, " +
                   $"{s.Reconciled} reconciled, {s.Quarantined} quarantined in {elapsed.TotalSeconds:0.0} s ({rate:0} emails/s)";
        return s.GaveUp ? $"{line}; GAVE UP: {s.LastError}" : line;
    }
}
