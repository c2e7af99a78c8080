using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors containers list|show</c>: what ingestion made, read from the store.</summary>
internal static class ContainersCommand
{
    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string?>("--asset") { Description = "Only this asset's containers." };
        var folder = new Option<string?>("--folder") { Description = "Only containers of this folder (its exact name)." };
        var label = new Option<string?>("--label") { Description = "Only containers with this label." };
        var afterId = new Option<long?>("--after-id") { Description = "Start after this container id (the previous page's next id)." };
        var limit = new Option<int?>("--limit") { Description = "At most this many containers, in id order; the next page's --after-id goes to standard error." };
        var format = new Option<string>("--format") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var list = new Command("list", "List containers: id, asset, folder, name, SDI, UIDVALIDITY, UID, Message-ID, artifacts, created, node.")
        {
            config, asset, folder, label, afterId, limit, format,
        };
        list.Validators.Add(r =>
        {
            if (r.GetValue(limit) is < 1)
            {
                r.AddError("--limit must be at least 1.");
            }
        });
        list.SetAction((r, ct) => ListAsync(r.GetValue(config)!, new ContainerQuery
        {
            Asset = r.GetValue(asset), Folder = r.GetValue(folder), Label = r.GetValue(label), AfterId = r.GetValue(afterId),
            Limit = r.GetValue(limit),
        }, r.GetValue(format)!, ct));

        var showConfig = CliSupport.ConfigOption();
        var id = new Argument<long>("ID") { Description = "The container id." };
        var brief = new Option<bool>("--brief") { Description = "Shorten the raw email and collapse header lists." };
        var show = new Command("show", "Show one container and its artifacts in the SOAR shape (JSON).") { showConfig, id, brief };
        show.SetAction((r, ct) => ShowAsync(r.GetValue(showConfig)!, r.GetValue(id), r.GetValue(brief), ct));

        return new Command("containers", "Inspect the containers ingestion made.") { list, show };
    }

    private static async Task<int> ListAsync(FileInfo configFile, ContainerQuery query, string format, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var page = await store.QueryContainersAsync(query, cancellationToken);
        var rows = page.Containers;
        if (format == "json")
        {
            foreach (var c in rows)
            {
                Console.WriteLine(StoredContainerJson.ToJsonLine(c));
            }
        }
        else
        {
            Console.Write(Table(
                ["ID", "ASSET", "FOLDER", "NAME", "SDI", "UIDVALIDITY", "UID", "MESSAGE-ID", "ARTIFACTS", "CREATED", "NODE"],
                rows.Select(c => new[]
                {
                    c.Id.ToString(), c.Asset, c.Folder, Clip(c.Name, 50), c.SourceDataIdentifier, c.UidValidity.ToString(), c.Uid.ToString(),
                    Clip(c.MessageId ?? "", 40), c.ArtifactCount.ToString(), c.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss"), c.Node ?? "",
                })));
            Console.WriteLine($"{rows.Count} containers");
        }

        // On standard error, so the rows on standard output stay one format (JSON lines or the table) whatever the page.
        if (page.NextAfterId is { } next)
        {
            Console.Error.WriteLine($"More containers follow: --after-id {next}");
        }

        return 0;
    }

    private static async Task<int> ShowAsync(FileInfo configFile, long id, bool brief, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var container = await store.GetContainerAsync(id, cancellationToken);
        if (container is null)
        {
            Console.Error.WriteLine($"No container with id {id}.");
            return 1;
        }

        var vault = VaultFactory.Create(settings);
        using (vault as IDisposable)
        {
            Console.WriteLine(StoredContainerJson.ToIndentedJson(container, vault, brief));
        }

        return 0;
    }

    /// <summary>The container as SOAR shows it; kept for callers written before <see cref="StoredContainerJson"/> held it.</summary>
    internal static JsonObject ToSoarJson(StoredContainer container, IVault vault) => StoredContainerJson.ToJson(container, vault);

    /// <summary>The raw email as the reference keeps it; kept for callers written before <see cref="StoredContainerJson"/> held it.</summary>
    internal static string? ReadRaw(IVault vault, VaultId id) => StoredContainerJson.ReadRawEmail(vault, id);

    internal static string Clip(string text, int max)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= max ? flat : flat[..(max - 1)] + "…";
    }

    internal static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in all)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }

        return text.ToString();
    }
}
