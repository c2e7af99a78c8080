using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ImapActors.Cli.Tests.Delivery;

/// <summary>
/// Splunk SOAR's REST API as its documentation describes it, on 127.0.0.1, for delivery tests: <c>POST /rest/container</c>
/// (a source data identifier already used in the same <c>asset_id</c> is answered 400 with <c>existing_container_id</c>),
/// <c>POST /rest/artifact</c> (one already in the container by source data identifier: 400 with
/// <c>existing_artifact_id</c>), <c>POST /rest/container_attachment</c> (vault id = SHA-1 of the bytes),
/// <c>GET /rest/container_attachment?_filter_container_id=N</c> and <c>GET /rest/container/N/artifacts</c>, every call
/// authenticated by <c>ph-auth-token</c>. It records everything it is sent, duplicates included, so a test can count;
/// and it can fail on purpose: 500s, connections dropped, refusals, and being down altogether.
/// </summary>
internal sealed class SoarEmulator : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Container> _containers = [];
    private readonly Dictionary<(long? Asset, string Sdi), long> _sdis = [];
    private long _nextId = 1;
    private long _sequence;
    private WebApplication? _app;
    private int _requests;

    public SoarEmulator(string token) => Token = token;

    public string Token { get; }

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Of the requests, the share answered 500 (half of them after doing the work, as when an answer is lost).</summary>
    public double FailureRate { get; set; }

    /// <summary>Of the requests, the share whose connection is dropped without an answer (half of them after the work).</summary>
    public double DropRate { get; set; }

    /// <summary>A container POST this refuses for good (400), as SOAR refuses an unknown label.</summary>
    public Func<JsonObject, bool>? Refuse { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public int ContainerCount
    {
        get
        {
            lock (_lock)
            {
                return _containers.Count;
            }
        }
    }

    public List<Container> Containers()
    {
        lock (_lock)
        {
            return [.. _containers.Values];
        }
    }

    /// <summary>A container made in SOAR by something else (another ingester), holding this source data identifier.</summary>
    public void AddForeignContainer(long assetId, string sdi)
    {
        lock (_lock)
        {
            var container = new Container(_nextId++, assetId, sdi, "made elsewhere", "events", "From: someone else");
            _containers[container.Id] = container;
            _sdis[(assetId, sdi)] = container.Id;
        }
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            Interlocked.Increment(ref _requests);
            if (http.Request.Headers["ph-auth-token"] != Token)
            {
                http.Response.StatusCode = 401;
                await http.Response.WriteAsJsonAsync(new { failed = true, message = "Invalid automation token" });
                return;
            }

            var roll = Random.Shared.NextDouble();
            var after = Random.Shared.Next(2) == 0;
            if (roll < DropRate && !after)
            {
                http.Abort();
                return;
            }

            if (roll >= DropRate && roll < DropRate + FailureRate && !after)
            {
                http.Response.StatusCode = 500;
                await http.Response.WriteAsync("Internal Server Error");
                return;
            }

            // The work is done and its answer held back, so that it can be lost after all.
            var original = http.Response.Body;
            using var answer = new MemoryStream();
            http.Response.Body = answer;
            await next(http);
            http.Response.Body = original;
            if (roll < DropRate)
            {
                http.Abort();
                return;
            }

            if (roll < DropRate + FailureRate)
            {
                http.Response.StatusCode = 500;
                http.Response.ContentType = "text/plain";
                await http.Response.WriteAsync("Internal Server Error");
                return;
            }

            answer.Position = 0;
            await answer.CopyToAsync(original);
        });
        app.MapPost("/rest/container", CreateContainerAsync);
        app.MapPost("/rest/artifact", CreateArtifactAsync);
        app.MapPost("/rest/container_attachment", AttachAsync);
        app.MapGet("/rest/container_attachment", ListAttachments);
        app.MapGet("/rest/container/{id:long}/artifacts", (long id) => ListArtifacts(id));
        app.MapGet("/rest/container/{id:long}", (long id) => GetContainer(id));
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    /// <summary>Stops listening: connections are refused until <see cref="StartAsync"/> (same port, same state).</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task<IResult> CreateContainerAsync(HttpRequest request)
    {
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        if (Refuse?.Invoke(body) == true)
        {
            return Results.Json(new { failed = true, message = "Label matching query does not exist." }, statusCode: 400);
        }

        var sdi = body["source_data_identifier"]?.GetValue<string>() ?? Guid.NewGuid().ToString();
        var asset = body["asset_id"]?.GetValue<long?>();
        lock (_lock)
        {
            if (_sdis.TryGetValue((asset, sdi), out var existing))
            {
                return Results.Json(new JsonObject
                {
                    ["existing_container_id"] = existing, ["failed"] = true, ["message"] = $"duplicate with {existing}",
                }, statusCode: 400);
            }

            var container = new Container(_nextId++, asset, sdi, body["name"]?.GetValue<string>() ?? "", body["label"]?.GetValue<string>() ?? "",
                body["data"]?["raw_email"]?.GetValue<string>())
            {
                Data = body["data"]?.DeepClone(),
            };
            _containers[container.Id] = container;
            _sdis[(asset, sdi)] = container.Id;
            foreach (var artifact in body["artifacts"]?.AsArray().OfType<JsonObject>() ?? [])
            {
                AddArtifact(container, artifact);
            }

            return Results.Json(new { id = container.Id, success = true });
        }
    }

    private async Task<IResult> CreateArtifactAsync(HttpRequest request)
    {
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        var id = body["container_id"]?.GetValue<long>();
        lock (_lock)
        {
            if (id is null || !_containers.TryGetValue(id.Value, out var container))
            {
                return Results.Json(new { failed = true, message = "container_id is required and must exist" }, statusCode: 400);
            }

            var sdi = body["source_data_identifier"]?.GetValue<string>();
            if (sdi is not null && container.Artifacts.FirstOrDefault(a => a.Sdi == sdi) is { } existing)
            {
                return Results.Json(new { existing_artifact_id = existing.Id, failed = true, message = "artifact already exists" }, statusCode: 400);
            }

            return Results.Json(new { id = AddArtifact(container, body).Id, success = true });
        }
    }

    private Artifact AddArtifact(Container container, JsonObject body)
    {
        var artifact = new Artifact(_nextId++, ++_sequence, body["name"]?.GetValue<string>() ?? "", body["source_data_identifier"]?.GetValue<string>(),
            body["run_automation"]?.GetValue<bool>() ?? false, body["cef"]?.ToJsonString() ?? "{}");
        container.Artifacts.Add(artifact);
        return artifact;
    }

    private async Task<IResult> AttachAsync(HttpRequest request)
    {
        var body = (await JsonNode.ParseAsync(request.Body))!.AsObject();
        var bytes = Convert.FromBase64String(body["file_content"]!.GetValue<string>());
        var vaultId = Convert.ToHexStringLower(SHA1.HashData(bytes));
        lock (_lock)
        {
            if (!_containers.TryGetValue(body["container_id"]!.GetValue<long>(), out var container))
            {
                return Results.Json(new { failed = true, message = "container not found" }, statusCode: 404);
            }

            var attachment = new Attachment(_nextId++, ++_sequence, vaultId, body["file_name"]?.GetValue<string>() ?? "", bytes.Length);
            container.Attachments.Add(attachment);
            return Results.Json(new { succeeded = true, message = "success", vault_id = vaultId, hash = vaultId, id = attachment.Id });
        }
    }

    private IResult ListAttachments(HttpRequest request)
    {
        var filter = request.Query["_filter_container_id"].ToString().Trim('"');
        lock (_lock)
        {
            var rows = _containers.TryGetValue(long.Parse(filter, System.Globalization.CultureInfo.InvariantCulture), out var c)
                ? c.Attachments.Select(a => new { id = a.Id, container_id = c.Id, vault_id = a.VaultId, name = a.FileName, size = a.Size }).ToList()
                : [];
            return Results.Json(new { count = rows.Count, num_pages = 1, data = rows });
        }
    }

    private IResult GetContainer(long id)
    {
        lock (_lock)
        {
            return _containers.TryGetValue(id, out var c)
                ? Results.Json(new { id = c.Id, name = c.Name, label = c.Label, source_data_identifier = c.Sdi, asset = c.AssetId, data = c.Data })
                : Results.Json(new { failed = true, message = "container not found" }, statusCode: 404);
        }
    }

    private IResult ListArtifacts(long id)
    {
        lock (_lock)
        {
            if (!_containers.TryGetValue(id, out var c))
            {
                return Results.Json(new { failed = true, message = "container not found" }, statusCode: 404);
            }

            var rows = c.Artifacts.Select(a => new { id = a.Id, container = c.Id, name = a.Name, source_data_identifier = a.Sdi, run_automation = a.RunAutomation })
                .ToList();
            return Results.Json(new { count = rows.Count, num_pages = 1, data = rows });
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    public sealed record Container(long Id, long? AssetId, string Sdi, string Name, string Label, string? RawEmail)
    {
        public List<Artifact> Artifacts { get; } = [];

        public JsonNode? Data { get; init; }

        public List<Attachment> Attachments { get; } = [];
    }

    /// <summary>An artifact as it arrived; <c>Sequence</c> is the order it arrived in, across the emulator.</summary>
    public sealed record Artifact(long Id, long Sequence, string Name, string? Sdi, bool RunAutomation, string Cef);

    public sealed record Attachment(long Id, long Sequence, string VaultId, string FileName, long Size);
}
