using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Domain;
using ImapActors.Mail;
using Serilog.Events;

namespace ImapActors.Cli.Commands;

/// <summary>
/// <c>imapactors get-email --config FILE --asset A (--id UID [--folder F] | --container-id N) [--ingest] [--json]</c>:
/// an email's top-level headers, optionally ingested.
/// </summary>
internal static class GetEmailCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var asset = new Option<string>("--asset", "-a") { Description = "The asset (as named in the configuration) whose mailbox holds the email.", Required = true };
        var id = new Option<string>("--id") { Description = "The email's IMAP UID in the folder." };
        var folder = new Option<string>("--folder") { Description = "The folder of --id; default: the asset's first folder." };
        var containerId = new Option<string>("--container-id") { Description = "Read the email of this container from the vault instead (no IMAP); wins over --id." };
        var ingest = new Option<bool>("--ingest") { Description = "Also ingest the email (the same pipeline and container as polling)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON: data, message, summary." };
        var command = new Command("get-email", "Print an email's top-level headers, by IMAP UID or by container id, and optionally ingest it.")
        {
            config, asset, id, folder, containerId, ingest, json,
        };
        command.SetAction((r, ct) => RunAsync(r.GetValue(config)!, r.GetValue(asset)!, new GetEmailRequest
        {
            Id = r.GetValue(id),
            Folder = r.GetValue(folder),
            ContainerId = r.GetValue(containerId),
            Ingest = r.GetValue(ingest),
        }, r.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo configFile, string assetName, GetEmailRequest request, bool json, CancellationToken cancellationToken)
    {
        var configuration = CliSupport.LoadConfiguration(configFile);
        if (configuration is null || OAuthCommand.TokensFor(configuration, configFile) is not { } tokens)
        {
            return CliSupport.UsageError;
        }

        var settings = configuration.Engine;

        CliSupport.ConfigureLogging(LogEventLevel.Warning);
        GetEmailResult result;
        try
        {
            var asset = ActionSupport.FindAsset(settings, assetName);
            await using var engine = await IngestionEngine.StartAsync(settings, new EngineOptions { Tokens = tokens, HandleStopSignals = true },
                cancellationToken);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, engine.Stopping);

            // Progress goes to standard error: standard output carries the result.
            result = await engine.GetEmail.RunAsync(asset, request, Console.Error.WriteLine, stop.Token);
        }
        catch (ActionFailedException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ex.IsUsageError ? CliSupport.UsageError : 1;
        }

        Console.Write(json ? ToJson(result) : ToText(result));
        return 0;
    }

    /// <summary>The reference's action result: <c>data</c> (the headers), <c>message</c>, and <c>summary</c> when ingested.</summary>
    internal static string ToJson(GetEmailResult result)
    {
        var root = new JsonObject
        {
            ["data"] = result.Data.DeepClone(),
            ["message"] = result.Message,
        };
        if (result.ContainerId is { } id)
        {
            root["summary"] = new JsonObject { ["container_id"] = id };
        }

        return root.ToJsonString(Json) + Environment.NewLine;
    }

    private static string ToText(GetEmailResult result)
    {
        var text = new System.Text.StringBuilder();
        foreach (var (name, value) in result.Data)
        {
            text.Append(name).Append(": ").AppendLine(value?.ToString());
        }

        text.AppendLine().AppendLine(result.Message);
        return text.ToString();
    }
}
