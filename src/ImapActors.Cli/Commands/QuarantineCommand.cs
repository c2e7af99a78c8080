using System.CommandLine;
using ImapActors.Host;
using ImapActors.Domain;
using ImapActors.Storage;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors quarantine list|retry</c>: emails that failed parse, extract or store too often.</summary>
internal static class QuarantineCommand
{
    public static Command Create()
    {
        var listConfig = CliSupport.ConfigOption();
        var all = new Option<bool>("--all") { Description = "Include emails already retried successfully." };
        var list = new Command("list", "List quarantined emails with their stage and error.") { listConfig, all };
        list.SetAction((r, ct) => ListAsync(r.GetValue(listConfig)!, r.GetValue(all), ct));

        var retryConfig = CliSupport.ConfigOption();
        var id = new Argument<long?>("ID") { Description = "The quarantine id.", Arity = ArgumentArity.ZeroOrOne };
        var retryAll = new Option<bool>("--all") { Description = "Retry every unresolved quarantined email." };
        var retry = new Command("retry", "Ingest quarantined emails again through the pipeline (after a fix).") { retryConfig, id, retryAll };
        retry.Validators.Add(r =>
        {
            if (r.GetValue(id) is null == !r.GetValue(retryAll))
            {
                r.AddError("Give either a quarantine ID or --all.");
            }
        });
        retry.SetAction((r, ct) => RetryAsync(r.GetValue(retryConfig)!, r.GetValue(id), ct));

        return new Command("quarantine", "Inspect and retry quarantined (poison) emails.") { list, retry };
    }

    private static async Task<int> ListAsync(FileInfo configFile, bool includeResolved, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var rows = await store.ListQuarantineAsync(includeResolved, cancellationToken);
        Console.Write(ContainersCommand.Table(
            ["ID", "ASSET", "FOLDER", "UIDVALIDITY", "UID", "STAGE", "ATTEMPTS", "PARSER", "QUARANTINED", "RESOLVED", "ERROR"],
            rows.Select(q => new[]
            {
                q.Id.ToString(), q.Source.Asset.Value, q.Source.Folder.Value, q.Source.UidValidity.ToString(), q.Source.Uid.ToString(),
                q.Stage, q.Attempts.ToString(), q.ParserVersion, q.QuarantinedAt.ToString("yyyy-MM-dd HH:mm:ss"),
                q.ResolvedAt?.ToString("yyyy-MM-dd HH:mm:ss") ?? "-", ContainersCommand.Clip(q.Error, 80),
            })));
        Console.WriteLine($"{rows.Count} quarantined emails");
        return 0;
    }

    private static async Task<int> RetryAsync(FileInfo configFile, long? id, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        CliSupport.ConfigureLogging(LogEventLevel.Warning);
        await using var engine = await IngestionEngine.StartAsync(settings, new EngineOptions { HandleStopSignals = true }, cancellationToken);
        IReadOnlyList<QuarantinedEmail> targets;
        if (id is { } one)
        {
            var q = await engine.Store.GetQuarantinedAsync(one, cancellationToken);
            if (q is null)
            {
                Console.Error.WriteLine($"No quarantined email with id {one}.");
                return 1;
            }

            targets = [q];
        }
        else
        {
            targets = await engine.Store.ListQuarantineAsync(includeResolved: false, cancellationToken);
        }

        var failed = 0;
        foreach (var q in targets)
        {
            var outcome = await RetryOneAsync(engine, q, cancellationToken);
            failed += outcome ? 0 : 1;
        }

        Console.WriteLine($"{targets.Count - failed} of {targets.Count} quarantined emails ingested");
        return failed == 0 ? 0 : 1;
    }

    private static async Task<bool> RetryOneAsync(IngestionEngine engine, QuarantinedEmail q, CancellationToken cancellationToken)
    {
        if (q.ResolvedAt is not null)
        {
            Console.WriteLine($"{q.Id}: already ingested on {q.ResolvedAt:yyyy-MM-dd HH:mm:ss}");
            return true;
        }

        var outcome = await engine.QuarantineRetry.RetryAsync(q, cancellationToken);
        if (outcome.Result is { } result)
        {
            Console.WriteLine($"{q.Id}: {q.Source.Mailbox} UID {q.Source.Uid} -> container {result.ContainerId} ({result.Outcome})");
            return true;
        }

        Console.Error.WriteLine($"{q.Id}: {q.Source.Mailbox} UID {q.Source.Uid} failed again: {outcome.Error}");
        return false;
    }
}
