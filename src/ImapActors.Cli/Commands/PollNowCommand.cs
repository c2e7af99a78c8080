using System.CommandLine;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Domain;
using ImapActors.Mail;
using ImapActors.Storage;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary>
/// <c>imapactors poll-now --config FILE --asset A [--container-count N]</c>: ingest up to N emails of each folder of an
/// asset now, without touching the scheduled polls' cursors.
/// </summary>
internal static class PollNowCommand
{
    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string>("--asset", "-a") { Description = "The asset (as named in the configuration) to poll.", Required = true };
        var count = new Option<string>("--container-count", "-n")
        {
            Description = $"Emails to take from each folder, from UID 1: the oldest, or the most recent for a latest-first asset (default {PollNow.DefaultCount}).",
        };
        var command = new Command("poll-now",
            "Ingest up to N emails of each of an asset's folders now; scheduled polling's cursors are neither read nor moved.")
        {
            config, asset, count,
        };
        command.SetAction((r, ct) => RunAsync(r.GetValue(config)!, r.GetValue(asset)!, r.GetValue(count), ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo configFile, string assetName, string? countText, CancellationToken cancellationToken)
    {
        var configuration = CliSupport.LoadConfiguration(configFile);
        if (configuration is null || OAuthCommand.TokensFor(configuration, configFile) is not { } tokens)
        {
            return CliSupport.UsageError;
        }

        var settings = configuration.Engine;

        AssetSettings asset;
        int count;
        try
        {
            asset = ActionSupport.FindAsset(settings, assetName);
            count = PollNow.ParseCount(countText);
        }
        catch (ActionFailedException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return CliSupport.UsageError;
        }

        CliSupport.ConfigureLogging(LogEventLevel.Warning);
        await using var engine = await IngestionEngine.StartAsync(settings, new EngineOptions { Tokens = tokens, HandleStopSignals = true },
            cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, engine.Stopping);
        IReadOnlyList<PollNowEmail> emails;
        try
        {
            emails = await engine.PollNow.RunAsync(asset, count, Console.WriteLine, stop.Token);
        }
        catch (ActionFailedException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 1;
        }

        foreach (var e in emails)
        {
            Console.WriteLine(e.Succeeded
                ? $"{e.Folder} UID {e.Uid}: {e.Outcome} container {e.ContainerId} \"{e.Name}\""
                : $"{e.Folder} UID {e.Uid}: FAILED {e.Error}");
        }

        int Count(CommitOutcome outcome) => emails.Count(e => e.Outcome == outcome);
        var failed = emails.Count(e => !e.Succeeded);
        Console.WriteLine($"Total: {emails.Count} emails, {Count(CommitOutcome.Created)} created, {Count(CommitOutcome.AlreadyIngested)} already ingested, "
                          + $"{Count(CommitOutcome.Reconciled)} reconciled, {failed} failed");
        return failed == 0 ? 0 : 1;
    }
}
