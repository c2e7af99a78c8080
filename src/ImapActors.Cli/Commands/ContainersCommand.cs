using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Storage;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors containers list|show</c>: what ingestion made, read from the store.</summary>
internal static class ContainersCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string?>("--asset") { Description = "Only this asset's containers." };
        var format = new Option<string>("--format") { Description = "table or json.", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "json");
        var list = new Command("list", "List containers: id, asset, folder, name, SDI, UIDVALIDITY, UID, Message-ID, artifacts, created.") { config, asset, format };
        list.SetAction((r, ct) => ListAsync(r.GetValue(config)!, r.GetValue(asset), r.GetValue(format)!, ct));

        var showConfig = CliSupport.ConfigOption();
        var id = new Argument<long>("ID") { Description = "The container id." };
        var brief = new Option<bool>("--brief") { Description = "Shorten the raw email and collapse header lists." };
        var show = new Command("show", "Show one container and its artifacts in the SOAR shape (JSON).") { showConfig, id, brief };
        show.SetAction((r, ct) => ShowAsync(r.GetValue(showConfig)!, r.GetValue(id), r.GetValue(brief), ct));

        return new Command("containers", "Inspect the containers ingestion made.") { list, show };
    }

    private static async Task<int> ListAsync(FileInfo configFile, string? asset, string format, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var rows = await store.ListContainersAsync(asset, cancellationToken);
        if (format == "json")
        {
            foreach (var c in rows)
            {
                Console.WriteLine(JsonSerializer.Serialize(new JsonObject
                {
                    ["id"] = c.Id, ["asset"] = c.Asset, ["folder"] = c.Folder, ["name"] = c.Name,
                    ["source_data_identifier"] = c.SourceDataIdentifier, ["uid_validity"] = c.UidValidity, ["uid"] = c.Uid,
                    ["message_id"] = c.MessageId, ["artifact_count"] = c.ArtifactCount, ["created"] = c.CreatedAt,
                }));
            }

            return 0;
        }

        Console.Write(Table(
            ["ID", "ASSET", "FOLDER", "NAME", "SDI", "UIDVALIDITY", "UID", "MESSAGE-ID", "ARTIFACTS", "CREATED"],
            rows.Select(c => new[]
            {
                c.Id.ToString(), c.Asset, c.Folder, Clip(c.Name, 50), c.SourceDataIdentifier, c.UidValidity.ToString(), c.Uid.ToString(),
                Clip(c.MessageId ?? "", 40), c.ArtifactCount.ToString(), c.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss"),
            })));
        Console.WriteLine($"{rows.Count} containers");
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

        var vault = new FileVault(settings.VaultPath);
        var json = ToSoarJson(container, vault);
        if (brief)
        {
            Abbreviate(json);
        }

        Console.WriteLine(json.ToJsonString(Indented));
        return 0;
    }

    /// <summary>The container as SOAR shows it, with <c>data.raw_email</c> read back from the vault.</summary>
    internal static JsonObject ToSoarJson(StoredContainer container, IVault vault)
    {
        var s = container.Summary;
        var artifacts = new JsonArray();
        foreach (var a in container.Artifacts)
        {
            artifacts.Add(ContainerJson.Artifact(a));
        }

        var vaultFiles = new JsonArray();
        foreach (var v in container.VaultFiles)
        {
            vaultFiles.Add(new JsonObject { ["file_name"] = v.FileName, ["vault_id"] = v.VaultId.Value, ["size"] = v.Size, ["sha256"] = v.Sha256 });
        }

        return new JsonObject
        {
            ["id"] = s.Id,
            ["name"] = s.Name,
            ["source_data_identifier"] = s.SourceDataIdentifier,
            ["label"] = container.Label,
            ["asset"] = s.Asset,
            ["folder"] = s.Folder,
            ["uid_validity"] = s.UidValidity,
            ["uid"] = s.Uid,
            ["message_id"] = s.MessageId,
            ["raw_sha256"] = container.RawSha256,
            ["created"] = s.CreatedAt,
            ["data"] = new JsonObject { ["raw_email"] = ReadRaw(vault, container.RawEmail) },
            ["artifact_count"] = container.Artifacts.Count,
            ["artifacts"] = artifacts,
            ["vault"] = vaultFiles,
        };
    }

    private static void Abbreviate(JsonObject container)
    {
        if (container["data"]?["raw_email"]?.GetValue<string>() is { Length: > 300 } raw)
        {
            container["data"]!["raw_email"] = raw[..300] + $"... ({raw.Length} characters)";
        }

        foreach (var artifact in container["artifacts"]!.AsArray())
        {
            var cef = artifact!["cef"]!.AsObject();
            foreach (var key in new[] { "emailHeaders", "headers" })
            {
                if (cef[key] is JsonObject headers)
                {
                    cef[key] = $"{{{headers.Count} headers}}";
                }
            }
        }
    }

    /// <summary>The raw email as the reference keeps it: UTF-8, or Latin-1 when the bytes are not valid UTF-8.</summary>
    internal static string? ReadRaw(IVault vault, VaultId id)
    {
        using var stream = vault.OpenRead(id);
        if (stream is null)
        {
            return null;
        }

        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        var bytes = memory.ToArray();
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Encoding.Latin1.GetString(bytes);
        }
    }

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
