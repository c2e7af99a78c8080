using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serilog;

namespace ImapActors.Http;

/// <summary>
/// The HTTP API under <c>/api/v1</c>. Every endpoint but health and readiness needs an API key
/// (<c>Authorization: Bearer KEY</c>): 401 without a valid one, 403 without the scope. The actions answer in the
/// reference's action-result shape (<see cref="ActionResultJson"/>), their parameter errors with the reference's
/// messages as 400.
/// </summary>
internal static class ApiEndpoints
{
    /// <summary>The most containers a page may hold; also the default.</summary>
    public const int MaxPageSize = 1000;

    public const int DefaultPageSize = 100;

    public static void Map(IEndpointRouteBuilder app, bool metricsRequireKey)
    {
        var metrics = app.MapGet("/metrics", Metrics)
            .WithSummary("Prometheus metrics (text format 0.0.4): per mailbox, the admission gate, stage timings, connections, process.");
        if (metricsRequireKey)
        {
            metrics.RequireScope(ApiScopes.Read);
        }

        var api = app.MapGroup("/api/v1");
        api.MapGet("/health", Health).WithSummary("Liveness: the process answers and its actor system runs. No key.");
        api.MapGet("/ready", Ready).WithSummary("Readiness: the store answers, the mailboxes started, the node is an Up cluster member. No key.");

        api.MapGet("/mailboxes", Mailboxes).RequireScope(ApiScopes.Read)
            .WithSummary("Every configured mailbox: node, state, UIDVALIDITY, committed, lag, last poll, last error, next retry.");
        api.MapGet("/containers", Containers).RequireScope(ApiScopes.Read)
            .WithSummary("Containers in id order, one page at a time (after_id = the previous page's next_after_id); search matches subject or sender.");
        api.MapGet("/containers/{id}", Container).RequireScope(ApiScopes.Read)
            .WithSummary("One container and its artifacts in the SOAR shape, as `imapactors containers show` prints it.");
        api.MapGet("/containers/{id}/raw", RawEmail).RequireScope(ApiScopes.Read)
            .WithSummary("The container's email as the server served it (message/rfc822).");
        api.MapGet("/vault/{vaultId}", VaultFile).RequireScope(ApiScopes.Read)
            .WithSummary("A file of the vault by its vault id (SHA-1), with the name a container gives it.");

        api.MapPost("/assets/{asset}/test-connectivity", TestConnectivityAction).RequireScope(ApiScopes.Act)
            .WithSummary("Connect, log in, list the folders and open each configured folder read-only.");
        api.MapPost("/assets/{asset}/get-email", GetEmailAction).RequireScope(ApiScopes.Act)
            .WithSummary("An email's top-level headers by IMAP UID (id, folder) or by container_id; ingest_email ingests it too.");
        api.MapPost("/assets/{asset}/poll-now", PollNowAction).RequireScope(ApiScopes.Act)
            .WithSummary("Ingest up to container_count emails of each folder now; the scheduled polls' cursors are not moved.");

        api.MapGet("/quarantine", Quarantine).RequireScope(ApiScopes.Read)
            .WithSummary("Quarantined emails (all=true: also those retried successfully).");
        api.MapPost("/quarantine/{id}/retry", RetryQuarantined).RequireScope(ApiScopes.Act)
            .WithSummary("Ingest a quarantined email again.");

        api.MapGet("/deliveries", Deliveries).RequireScope(ApiScopes.Read)
            .WithSummary("Deliveries of containers to destinations in id order (state = pending, failed, delivered or dead; destination; after_id; limit).");
        api.MapPost("/deliveries/{id}/retry", RetryDelivery).RequireScope(ApiScopes.Act)
            .WithSummary("Make a dead or failing delivery due now, its attempts counted anew.");
    }

    private static async Task Metrics(HttpContext http, EngineMetrics metrics)
    {
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.WriteAsync(http.Response.Body, http.RequestAborted);
    }

    private static IResult Health(ActorSystem system) =>
        system.WhenTerminated.IsCompleted
            ? HttpJson.Result(new JsonObject { ["status"] = "down", ["detail"] = "the actor system has terminated" }, statusCode: 503)
            : HttpJson.Result(new JsonObject { ["status"] = "up" });

    private static async Task<IResult> Ready(ReadinessChecks checks, CancellationToken cancellationToken)
    {
        var report = await checks.RunAsync(cancellationToken);
        return HttpJson.Result(report.ToJson(), statusCode: report.Ready ? 200 : 503);
    }

    private static async Task<IResult> Mailboxes(EngineSettings settings, IngestionService ingestion, IContainerStore store,
        CancellationToken cancellationToken) =>
        HttpJson.Result(new JsonObject
        {
            ["mailboxes"] = JsonSerializer.SerializeToNode(await MailboxView.ListAsync(settings, ingestion, store, cancellationToken), HttpJson.Options),
        });

    private static async Task<IResult> Containers(HttpRequest request, IContainerStore store, CancellationToken cancellationToken)
    {
        var q = request.Query;
        if (Page(q, "a container id", out var afterId, out var limit) is { } refused)
        {
            return refused;
        }

        var page = await store.QueryContainersAsync(new ContainerQuery
        {
            Asset = NonEmpty(q["asset"]),
            Folder = NonEmpty(q["folder"]),
            Label = NonEmpty(q["label"]),
            Search = NonEmpty(q["search"]),
            AfterId = afterId,
            Limit = limit,
        }, cancellationToken);
        return HttpJson.Result(new JsonObject
        {
            ["containers"] = new JsonArray([.. page.Containers.Select(c => (JsonNode)StoredContainerJson.Summary(c))]),
            ["next_after_id"] = page.NextAfterId,
        });
    }

    private static async Task<IResult> Container(string id, IContainerStore store, IVault vault, CancellationToken cancellationToken)
    {
        if (await FindContainerAsync(id, store, cancellationToken) is not { } found)
        {
            return NotFound($"No container with id {id}.");
        }

        // The same bytes as `imapactors containers show ID` writes.
        return Results.Text(StoredContainerJson.ToIndentedJson(found, vault) + "\n", "application/json; charset=utf-8");
    }

    private static async Task<IResult> RawEmail(string id, IContainerStore store, IVault vault, CancellationToken cancellationToken)
    {
        if (await FindContainerAsync(id, store, cancellationToken) is not { } found)
        {
            return NotFound($"No container with id {id}.");
        }

        return found.OpenRawEmail(vault) is { } stream
            ? Results.Stream(stream, "message/rfc822", $"container-{found.Summary.Id}.eml")
            : NotFound($"The raw email of container {id} ({found.RawEmail}) is missing from the vault.");
    }

    private static async Task<IResult> VaultFile(string vaultId, IContainerStore store, IVault vault, CancellationToken cancellationToken)
    {
        if (!IsVaultId(vaultId))
        {
            return BadRequest($"a vault id is the 40 hexadecimal digits of a SHA-1, got '{Clip(vaultId)}'");
        }

        var id = new VaultId(vaultId.ToLowerInvariant());
        if (await store.FindVaultFileAsync(id, cancellationToken) is not { } file)
        {
            return NotFound($"No container lists a vault file {id}.");
        }

        return vault.OpenRead(id) is { } stream
            ? Results.Stream(stream, "application/octet-stream", file.FileName)
            : NotFound($"The vault file {id} is listed by a container but missing from the vault.");
    }

    private static async Task<IResult> TestConnectivityAction(string asset, HttpContext http, EngineSettings settings, TestConnectivity action)
    {
        var parameter = new JsonObject { ["asset"] = asset };
        if (Asset(settings, asset, parameter) is not { } found)
        {
            return UnknownAsset(settings, asset, parameter);
        }

        Audit(http, "test-connectivity", asset);
        var progress = new List<string>();
        var result = await action.RunAsync(found, progress.Add, http.RequestAborted);
        return result.Passed
            ? HttpJson.Result(ActionResultJson.Success(TestConnectivity.PassedMessage, parameter: parameter, progress: progress))
            : HttpJson.Result(ActionResultJson.Failure($"{TestConnectivity.FailedMessage}: {result.Error}", parameter, progress));
    }

    private static async Task<IResult> GetEmailAction(string asset, HttpContext http, EngineSettings settings, GetEmail action)
    {
        var (body, error) = await ReadBodyAsync(http);
        if (body is null)
        {
            return BadRequest(error!);
        }

        var parameter = body.DeepClone().AsObject();
        if (Asset(settings, asset, parameter) is not { } found)
        {
            return UnknownAsset(settings, asset, parameter);
        }

        GetEmailRequest request;
        try
        {
            request = new GetEmailRequest
            {
                Id = Text(body, "id"),
                Folder = Text(body, "folder"),
                ContainerId = Text(body, "container_id"),
                Ingest = Bool(body, "ingest_email"),
            };
        }
        catch (FormatException ex)
        {
            return HttpJson.Result(ActionResultJson.Failure(ex.Message, parameter), statusCode: 400);
        }

        Audit(http, "get-email", asset);
        var progress = new List<string>();
        try
        {
            var result = await action.RunAsync(found, request, progress.Add, http.RequestAborted);
            var summary = result.ContainerId is { } id ? new JsonObject { ["container_id"] = id } : null;
            return HttpJson.Result(ActionResultJson.Success(result.Message, [result.Data.DeepClone()], summary, parameter, progress));
        }
        catch (ActionFailedException ex)
        {
            return HttpJson.Result(ActionResultJson.Failure(ex.Message, parameter, progress), statusCode: ex.IsUsageError ? 400 : 200);
        }
    }

    private static async Task<IResult> PollNowAction(string asset, HttpContext http, EngineSettings settings, PollNow action)
    {
        var (body, error) = await ReadBodyAsync(http);
        if (body is null)
        {
            return BadRequest(error!);
        }

        var parameter = body.DeepClone().AsObject();
        if (Asset(settings, asset, parameter) is not { } found)
        {
            return UnknownAsset(settings, asset, parameter);
        }

        var progress = new List<string>();
        int count;
        try
        {
            count = PollNow.ParseCount(Text(body, "container_count"));
        }
        catch (Exception ex) when (ex is ActionFailedException or FormatException)
        {
            return HttpJson.Result(ActionResultJson.Failure(ex.Message, parameter), statusCode: 400);
        }

        Audit(http, "poll-now", asset);
        try
        {
            var emails = await action.RunAsync(found, count, progress.Add, http.RequestAborted);
            var data = new JsonArray([.. emails.Select(e => (JsonNode)new JsonObject
            {
                ["folder"] = e.Folder.Value,
                ["uid"] = e.Uid,
                ["outcome"] = e.Outcome is { } o ? JsonNamingPolicy.SnakeCaseLower.ConvertName(o.ToString()) : "failed",
                ["container_id"] = e.ContainerId,
                ["name"] = e.Name,
                ["error"] = e.Error,
            })]);
            int Count(CommitOutcome outcome) => emails.Count(e => e.Outcome == outcome);
            var summary = new JsonObject
            {
                ["emails"] = emails.Count,
                ["created"] = Count(CommitOutcome.Created),
                ["already_ingested"] = Count(CommitOutcome.AlreadyIngested),
                ["reconciled"] = Count(CommitOutcome.Reconciled),
                ["failed"] = emails.Count(e => !e.Succeeded),
            };

            // As the reference: a poll that connected succeeds, whatever became of each email (each says it in data).
            return HttpJson.Result(ActionResultJson.Success("", data, summary, parameter, progress));
        }
        catch (ActionFailedException ex)
        {
            return HttpJson.Result(ActionResultJson.Failure(ex.Message, parameter, progress), statusCode: ex.IsUsageError ? 400 : 200);
        }
    }

    private static async Task<IResult> Quarantine(HttpRequest request, IContainerStore store, CancellationToken cancellationToken)
    {
        var all = request.Query["all"].ToString() is "true" or "1";
        var rows = await store.ListQuarantineAsync(all, cancellationToken);
        return HttpJson.Result(new JsonObject { ["quarantine"] = new JsonArray([.. rows.Select(r => (JsonNode)QuarantineJson(r))]) });
    }

    private static async Task<IResult> RetryQuarantined(string id, HttpContext http, IContainerStore store, QuarantineRetry retry)
    {
        var parameter = new JsonObject { ["id"] = id };
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await store.GetQuarantinedAsync(number, http.RequestAborted) is not { } email)
        {
            return HttpJson.Result(ActionResultJson.Failure($"No quarantined email with id {id}.", parameter), statusCode: 404);
        }

        Audit(http, "quarantine retry", $"{email.Source.Asset}/{email.Source.Folder} UID {email.Source.Uid}");
        var outcome = await retry.RetryAsync(email, http.RequestAborted);
        if (!outcome.Succeeded)
        {
            return HttpJson.Result(ActionResultJson.Failure($"Quarantined email {id} was not ingested: {outcome.Error}", parameter));
        }

        var result = outcome.Result!;
        return HttpJson.Result(ActionResultJson.Success($"Container id: {result.ContainerId}",
            [QuarantineJson(email)], new JsonObject
            {
                ["container_id"] = result.ContainerId,
                ["outcome"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(result.Outcome.ToString()),
            }, parameter));
    }

    /// <summary>
    /// A list's keyset page: <c>after_id</c> (<paramref name="idIs"/>, a non-negative integer) and <c>limit</c> (1 to
    /// <see cref="MaxPageSize"/>, default <see cref="DefaultPageSize"/>); the 400 to answer when either is not.
    /// </summary>
    private static IResult? Page(IQueryCollection q, string idIs, out long? afterId, out int limit)
    {
        afterId = null;
        limit = DefaultPageSize;
        if (q["after_id"].ToString() is { Length: > 0 } after)
        {
            if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var a))
            {
                return BadRequest($"after_id must be {idIs} (a non-negative integer), got '{after}'");
            }

            afterId = a;
        }

        if (q["limit"].ToString() is { Length: > 0 } text
            && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPageSize))
        {
            return BadRequest($"limit must be an integer from 1 to {MaxPageSize}, got '{text}'");
        }

        return null;
    }

    private static async Task<IResult> Deliveries(HttpRequest request, IContainerStore store, CancellationToken cancellationToken)
    {
        var state = request.Query["state"].ToString();
        var filter = DeliveryFilters.Parse(state);
        if (filter is null)
        {
            return BadRequest($"state must be pending, failed, delivered or dead, got '{state}'");
        }

        if (Page(request.Query, "a delivery id", out var afterId, out var limit) is { } refused)
        {
            return refused;
        }

        var destination = request.Query["destination"].ToString() is { Length: > 0 } d ? d : null;
        var rows = await store.ListDeliveriesAsync(filter.Value, destination, afterId ?? 0, limit + 1, cancellationToken);
        var page = rows.Take(limit).ToList();
        return HttpJson.Result(new JsonObject
        {
            ["deliveries"] = new JsonArray([.. page.Select(r => (JsonNode)DeliveryJson.ToJson(r))]),
            ["next_after_id"] = rows.Count > limit ? page[^1].Id : null,
        });
    }

    private static async Task<IResult> RetryDelivery(string id, HttpContext http, IContainerStore store)
    {
        var parameter = new JsonObject { ["id"] = id };
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || await store.GetDeliveryAsync(number, http.RequestAborted) is not { } delivery)
        {
            return HttpJson.Result(ActionResultJson.Failure($"No delivery with id {id}.", parameter), statusCode: 404);
        }

        if (delivery.State == DeliveryState.Delivered)
        {
            return HttpJson.Result(ActionResultJson.Failure(
                $"Delivery {id} (container {delivery.ContainerId} to {delivery.Destination}) is delivered already.", parameter), statusCode: 409);
        }

        Audit(http, "delivery retry", $"container {delivery.ContainerId} to {delivery.Destination}");
        await store.RetryDeliveriesAsync(number, null, http.RequestAborted);
        var after = await store.GetDeliveryAsync(number, http.RequestAborted);
        return HttpJson.Result(ActionResultJson.Success($"Delivery {id} is due now", [DeliveryJson.ToJson(after ?? delivery)],
            new JsonObject { ["container_id"] = delivery.ContainerId, ["destination"] = delivery.Destination }, parameter));
    }

    private static JsonObject QuarantineJson(QuarantinedEmail q) => new()
    {
        ["id"] = q.Id,
        ["asset"] = q.Source.Asset.Value,
        ["folder"] = q.Source.Folder.Value,
        ["uid_validity"] = q.Source.UidValidity,
        ["uid"] = q.Source.Uid,
        ["stage"] = q.Stage,
        ["error"] = q.Error,
        ["attempts"] = q.Attempts,
        ["parser_version"] = q.ParserVersion,
        ["raw_email"] = q.RawEmail?.Value,
        ["quarantined_at"] = q.QuarantinedAt,
        ["resolved_at"] = q.ResolvedAt,
    };

    private static async Task<StoredContainer?> FindContainerAsync(string id, IContainerStore store, CancellationToken cancellationToken) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? await store.GetContainerAsync(number, cancellationToken)
            : null;

    private static AssetSettings? Asset(EngineSettings settings, string name, JsonObject parameter)
    {
        parameter["asset"] = name;
        return settings.Assets.FirstOrDefault(a => a.Name.Value == name);
    }

    private static IResult UnknownAsset(EngineSettings settings, string name, JsonObject parameter)
    {
        string message;
        try
        {
            ActionSupport.FindAsset(settings, name);
            message = $"No asset named '{name}'";
        }
        catch (ActionFailedException ex)
        {
            message = ex.Message;
        }

        return HttpJson.Result(ActionResultJson.Failure(message, parameter), statusCode: 404);
    }

    /// <summary>The JSON object of the request's body; an empty body is an empty object.</summary>
    private static async Task<(JsonObject? Body, string? Error)> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentLength is 0 || (http.Request.ContentLength is null && !http.Request.Headers.ContainsKey("Transfer-Encoding")))
        {
            return ([], null);
        }

        try
        {
            return await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted) switch
            {
                JsonObject o => (o, null),
                null => ([], null),
                _ => (null, "the body must be a JSON object of the action's parameters"),
            };
        }
        catch (JsonException ex)
        {
            return (null, $"the body is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>A parameter as the reference takes it: a string or a number, as typed; null when absent or null.</summary>
    private static string? Text(JsonObject body, string key) => body[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        _ => throw new FormatException($"Please provide a valid value in the {key} parameter: a string or a number"),
    };

    private static bool Bool(JsonObject body, string key) => body[key] switch
    {
        null => false,
        JsonValue v when v.GetValueKind() is JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() is JsonValueKind.False => false,
        JsonValue v when v.TryGetValue<string>(out var s) && bool.TryParse(s, out var b) => b,
        _ => throw new FormatException($"Please provide a valid boolean value in the {key} parameter: true or false"),
    };

    private static void Audit(HttpContext http, string action, string target)
    {
        var caller = http.Items[ScopeFilter.CallerItem] as ApiCaller;
        Log.Information("HTTP API: key {Caller} runs {Action} on {Target}", caller?.Name, action, target);
    }

    private static bool IsVaultId(string text) => text.Length == 40 && text.All(Uri.IsHexDigit);

    private static string? NonEmpty(Microsoft.Extensions.Primitives.StringValues value) =>
        value.ToString() is { Length: > 0 } s ? s : null;

    private static string Clip(string text) => text.Length <= 60 ? text : text[..60] + "…";

    internal static IResult BadRequest(string message) => HttpJson.Result(new JsonObject { ["status"] = "failed", ["message"] = message }, statusCode: 400);

    internal static IResult NotFound(string message) => HttpJson.Result(new JsonObject { ["status"] = "failed", ["message"] = message }, statusCode: 404);
}
