using System.CommandLine;
using ImapActors.Host;
using ImapActors.Domain;
using ImapActors.Storage;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary>
/// <c>imapactors quarantine list|show|retry</c>: emails that failed parse, extract or store too often, and emails the
/// server would not serve (stage <c>fetch</c>, kept without raw bytes).
/// </summary>
internal static class QuarantineCommand
{
    public static Command Create()
    {
        var listConfig = CliSupport.ConfigOption();
        var all = new Option<bool>("--all") { Description = "Include emails already retried successfully." };
        var list = new Command("list", "List quarantined emails with their stage and error.") { listConfig, all };
        list.SetAction((r, ct) => ListAsync(r.GetValue(listConfig)!, r.GetValue(all), ct));

        var showConfig = CliSupport.ConfigOption();
        var showId = new Argument<long>("ID") { Description = "The quarantine id." };
        var show = new Command("show", "Show one quarantined email: where it is from, its stage, the whole error, its raw bytes.") { showConfig, showId };
        show.SetAction((r, ct) => ShowAsync(r.GetValue(showConfig)!, r.GetValue(showId), ct));

        var retryConfig = CliSupport.ConfigOption();
        var id = new Argument<long?>("ID") { Description = "The quarantine id.", Arity = ArgumentArity.ZeroOrOne };
        var retryAll = new Option<bool>("--all") { Description = "Retry every unresolved quarantined email." };
        var retry = new Command("retry",
            "Ingest quarantined emails again through the pipeline (after a fix); an email the server would not serve is fetched again.")
        {
            retryConfig, id, retryAll,
        };
        retry.Validators.Add(r =>
        {
            if (r.GetValue(id) is null == !r.GetValue(retryAll))
            {
                r.AddError("Give either a quarantine ID or --all.");
            }
        });
        retry.SetAction((r, ct) => RetryAsync(r.GetValue(retryConfig)!, r.GetValue(id), ct));

        return new Command("quarantine", "Inspect and retry quarantined (poison) emails.") { list, show, retry };
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

    private static async Task<int> ShowAsync(FileInfo configFile, long id, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        if (await store.GetQuarantinedAsync(id, cancellationToken) is not { } q)
        {
            Console.Error.WriteLine($"No quarantined email with id {id}.");
            return 1;
        }

        var vault = VaultFactory.Create(settings);
        using var owned = vault as IDisposable;
        var raw = q.RawEmail is { } vaultId
            ? $"{vaultId.Value} ({vault.Describe(vaultId)})"
            : "none: the server would not serve the email; quarantine retry fetches it from the server again";
        (string Name, string Value)[] fields =
        [
            ("id", q.Id.ToString()), ("asset", q.Source.Asset.Value), ("folder", q.Source.Folder.Value),
            ("uidvalidity", q.Source.UidValidity.ToString()), ("uid", q.Source.Uid.ToString()),
            ("internal date", q.Source.InternalDate?.ToString("yyyy-MM-dd HH:mm:ss zzz") ?? "-"), ("stage", q.Stage),
            ("attempts", q.Attempts.ToString()), ("parser", q.ParserVersion), ("quarantined", q.QuarantinedAt.ToString("yyyy-MM-dd HH:mm:ss")),
            ("resolved", q.ResolvedAt?.ToString("yyyy-MM-dd HH:mm:ss") ?? "-"), ("raw email", raw), ("error", q.Error),
        ];
        foreach (var (name, value) in fields)
        {
            Console.WriteLine($"{name + ":",-15}{value}");
        }

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
