using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Http;

/// <summary>The HTTP API of a running engine against the real Dovecot, through HTTP only.</summary>
public sealed class HttpApiTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static DovecotInstance Dovecot => TestServices.Dovecot;

    [Fact]
    public async Task Every_endpoint_but_health_and_ready_refuses_a_missing_or_wrong_key_with_401_and_a_missing_scope_with_403()
    {
        var user = Dovecot.CreateUser("httpauth");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(71, 2));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness);
        var asset = harness.Settings.Assets[0].Name.Value;
        var vaultId = new string('a', 40);
        (HttpMethod Method, string Path, ApiScopes Scope, JsonObject? Body)[] endpoints =
        [
            (HttpMethod.Get, "/api/v1/mailboxes", ApiScopes.Read, null),
            (HttpMethod.Get, "/api/v1/containers", ApiScopes.Read, null),
            (HttpMethod.Get, "/api/v1/containers/1", ApiScopes.Read, null),
            (HttpMethod.Get, "/api/v1/containers/1/raw", ApiScopes.Read, null),
            (HttpMethod.Get, $"/api/v1/vault/{vaultId}", ApiScopes.Read, null),
            (HttpMethod.Get, "/api/v1/quarantine", ApiScopes.Read, null),
            (HttpMethod.Post, $"/api/v1/assets/{asset}/test-connectivity", ApiScopes.Act, null),
            (HttpMethod.Post, $"/api/v1/assets/{asset}/get-email", ApiScopes.Act, []),
            (HttpMethod.Post, $"/api/v1/assets/{asset}/poll-now", ApiScopes.Act, new JsonObject { ["container_count"] = 0 }),
            (HttpMethod.Post, "/api/v1/quarantine/999/retry", ApiScopes.Act, null),
            (HttpMethod.Get, "/api/v1/deliveries", ApiScopes.Read, null),
            (HttpMethod.Post, "/api/v1/deliveries/999/retry", ApiScopes.Act, null),
        ];

        var bodies = new List<string>();
        async Task<HttpResponseMessage> Send(HttpClient client, HttpMethod method, string path, JsonObject? body, string? authorization = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = HttpApiFixture.Body(body);
            }

            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            var response = await client.SendAsync(request);
            bodies.Add(await response.Content.ReadAsStringAsync());
            return response;
        }

        foreach (var (method, path, scope, body) in endpoints)
        {
            var none = await Send(api.Anonymous, method, path, body);
            Assert.True(none.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without a key: {(int)none.StatusCode}");
            Assert.Equal("Bearer", Assert.Single(none.Headers.WwwAuthenticate).Scheme);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(api.Anonymous, method, path, body, "Bearer " + HttpApiFixture.NewKey())).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(api.Anonymous, method, path, body, "Basic " + api.ActorKey)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Send(api.Anonymous, method, path, body, "Bearer " + api.ActorKey[..^1])).StatusCode);

            var reader = await Send(api.Reader, method, path, body);
            var actor = await Send(api.Actor, method, path, body);
            output.WriteLine($"{method} {path}: reader {(int)reader.StatusCode}, actor {(int)actor.StatusCode}");
            Assert.DoesNotContain(actor.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
            if (scope == ApiScopes.Act)
            {
                Assert.Equal(HttpStatusCode.Forbidden, reader.StatusCode);
                Assert.Contains("lacks the act scope", bodies[^2], StringComparison.Ordinal);
            }
            else
            {
                Assert.DoesNotContain(reader.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("/api/v1/health")).StatusCode);
        var ready = await api.Anonymous.GetAsync("/api/v1/ready");
        output.WriteLine(await ready.Content.ReadAsStringAsync());
        Assert.Contains(ready.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable });
        Assert.All(bodies, b => Assert.DoesNotContain(api.ActorKey, b, StringComparison.Ordinal));
        Assert.All(bodies, b => Assert.DoesNotContain(api.ReaderKey, b, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pages_of_250_containers_give_each_once_in_id_order_and_a_container_reads_as_the_cli_shows_it()
    {
        var user = Dovecot.CreateUser("httppage");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(72, 250));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness);

        var mailbox = await api.WaitForMailboxAsync(m => m["committed"]?.GetValue<long>() == 250 && m["lag"]?.GetValue<long>() == 0, Timeout);
        output.WriteLine(mailbox.ToJsonString());
        Assert.Equal("polling", mailbox["state"]!.GetValue<string>());
        Assert.Equal(harness.Settings.Cluster.NodeName, mailbox["node"]!.GetValue<string>());
        Assert.True(mailbox["uid_validity"]!.GetValue<uint>() > 0);

        var ids = new List<long>();
        long? after = null;
        var pages = 0;
        do
        {
            var page = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync($"/api/v1/containers?limit=7{(after is { } a ? $"&after_id={a}" : "")}"));
            pages++;
            var rows = page["containers"]!.AsArray();
            Assert.InRange(rows.Count, 1, 7);
            ids.AddRange(rows.Select(r => r!["id"]!.GetValue<long>()));
            after = page["next_after_id"]?.GetValue<long>();
        }
        while (after is not null);

        Assert.Equal(250, ids.Count);
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(250, ids.Distinct().Count());
        Assert.Equal(36, pages);
        var filtered = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/containers?label=no-such-label"));
        Assert.Empty(filtered["containers"]!.AsArray());
        foreach (var bad in new[] { "limit=0", "limit=1001", "limit=x", "after_id=-1" })
        {
            var refused = await api.Reader.GetAsync($"/api/v1/containers?{bad}");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        // A container with attachments: its JSON, its raw email and each vault file.
        JsonObject? withFiles = null;
        string? text = null;
        foreach (var id in ids)
        {
            text = await api.Reader.GetStringAsync($"/api/v1/containers/{id}");
            withFiles = JsonNode.Parse(text)!.AsObject();
            if (withFiles["vault"]!.AsArray().Count > 0)
            {
                break;
            }
        }

        Assert.NotNull(withFiles);
        var containerId = withFiles["id"]!.GetValue<long>();
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        var show = await CliProcess.RunAsync(env, Timeout, "containers", "show", containerId.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", config);
        Assert.True(show.Exit == 0, show.Err);
        Assert.Equal(show.Out, text);

        var raw = await api.Reader.GetAsync($"/api/v1/containers/{containerId}/raw");
        Assert.Equal("message/rfc822", raw.Content.Headers.ContentType!.MediaType);
        Assert.Equal(withFiles["raw_sha256"]!.GetValue<string>(), Convert.ToHexStringLower(SHA256.HashData(await raw.Content.ReadAsByteArrayAsync())));

        foreach (var file in withFiles["vault"]!.AsArray())
        {
            var vaultId = file!["vault_id"]!.GetValue<string>();
            var download = await api.Reader.GetAsync($"/api/v1/vault/{vaultId}");
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal(file["file_name"]!.GetValue<string>(), download.Content.Headers.ContentDisposition!.FileNameStar ?? download.Content.Headers.ContentDisposition.FileName);
            Assert.Equal(vaultId, Convert.ToHexStringLower(SHA1.HashData(await download.Content.ReadAsByteArrayAsync())));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await api.Reader.GetAsync("/api/v1/containers/999999")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Reader.GetAsync($"/api/v1/vault/{new string('0', 40)}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Reader.GetAsync("/api/v1/vault/..%2F..%2Fetc%2Fpasswd")).StatusCode);
    }

    [Fact]
    public async Task The_actions_give_what_the_cli_verbs_give_and_refuse_bad_parameters_with_the_reference_messages()
    {
        var user = Dovecot.CreateUser("httpact");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(73, 5));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness, PollingMode.Off);
        var asset = harness.Settings.Assets[0].Name.Value;
        async Task<(HttpStatusCode Status, JsonObject Result)> Act(string action, JsonObject body, string? onAsset = null)
        {
            var response = await api.Actor.PostAsync($"/api/v1/assets/{onAsset ?? asset}/{action}", HttpApiFixture.Body(body));
            return (response.StatusCode, await HttpApiFixture.JsonAsync(response));
        }

        var (status, connectivity) = await Act("test-connectivity", []);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("success", "Connectivity test passed"), (connectivity["status"]!.GetValue<string>(), connectivity["message"]!.GetValue<string>()));
        Assert.Contains("Got folder listing", connectivity["progress"]!.AsArray().Select(p => p!.GetValue<string>()));

        var (pollStatus, poll) = await Act("poll-now", new JsonObject { ["container_count"] = "3" });
        output.WriteLine(poll.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, pollStatus);
        Assert.Equal("success", poll["status"]!.GetValue<string>());
        Assert.Equal(3, poll["summary"]!["created"]!.GetValue<int>());
        var polled = poll["data"]!.AsArray().Select(e => (e!["uid"]!.GetValue<uint>(), e["container_id"]!.GetValue<long>())).ToList();
        Assert.Equal([1u, 2u, 3u], polled.Select(p => p.Item1));

        // The CLI verb finds the same containers already there.
        var cli = await ActionsFixture.RunCliAsync(harness, "poll-now", "--asset", asset, "--container-count", "3");
        Assert.True(cli.Exit == 0, cli.Err);
        foreach (var (uid, id) in polled)
        {
            Assert.Contains($"INBOX UID {uid}: AlreadyIngested container {id} ", cli.Out, StringComparison.Ordinal);
        }

        var (_, byUid) = await Act("get-email", new JsonObject { ["id"] = 2 });
        var cliJson = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--id", "2", "--json");
        Assert.True(cliJson.Exit == 0, cliJson.Err);
        var expected = JsonNode.Parse(cliJson.Out)!.AsObject();
        Assert.Equal(expected["data"]!.ToJsonString(), byUid["data"]![0]!.ToJsonString());
        Assert.Equal("Email not ingested.", byUid["message"]!.GetValue<string>());
        Assert.Equal(2, byUid["parameter"]!["id"]!.GetValue<int>());

        var (_, byContainer) = await Act("get-email", new JsonObject { ["container_id"] = polled[1].Item2, ["ingest_email"] = true });
        Assert.Equal($"Container id: {polled[1].Item2}", byContainer["message"]!.GetValue<string>());
        Assert.Equal(polled[1].Item2, byContainer["summary"]!["container_id"]!.GetValue<long>());
        Assert.Equal(3, (await harness.ContainersAsync()).Count);

        (string Action, JsonObject Body, string Message)[] refused =
        [
            ("poll-now", new JsonObject { ["container_count"] = 0 }, "Please provide a positive integer value in the container_count parameter"),
            ("poll-now", new JsonObject { ["container_count"] = "-2" }, "Please provide a valid non-negative integer value in the container_count parameter"),
            ("poll-now", new JsonObject { ["container_count"] = 1.5 }, "Please provide a valid integer value in the container_count parameter"),
            ("poll-now", new JsonObject { ["container_count"] = "many" }, "Please provide a valid integer value in the container_count parameter"),
            ("get-email", [], "Please specify either id or container_id to get the email"),
            ("get-email", new JsonObject { ["container_id"] = "x" }, "Please provide a valid integer value in the container_id parameter"),
            ("get-email", new JsonObject { ["id"] = 0 }, "Please provide a positive integer value in the id parameter"),
        ];
        foreach (var (action, body, message) in refused)
        {
            var (code, result) = await Act(action, body);
            Assert.Equal((HttpStatusCode.BadRequest, "failed", message), (code, result["status"]!.GetValue<string>(), result["message"]!.GetValue<string>()));
        }

        var (unknownStatus, unknown) = await Act("poll-now", [], "no-such-asset");
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.StartsWith("No asset named 'no-such-asset' in the configuration. Configured assets: ", unknown["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var notJson = await api.Actor.PostAsync($"/api/v1/assets/{asset}/poll-now", new StringContent("{container_count", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Equal(3, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task A_mailbox_whose_server_stops_turns_stale_within_three_poll_intervals_and_back_when_it_returns()
    {
        var dovecot = TestServices.StartPrivateDovecot("httpstale");
        var user = dovecot.CreateUser("stale");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(74, 3));
        var interval = TimeSpan.FromSeconds(2);
        var asset = dovecot.Asset(user) with
        {
            PollInterval = interval,
            Idle = false,
            Retry = new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)),
            Timeout = TimeSpan.FromSeconds(5),
        };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        await using var api = await HttpApiFixture.StartAsync(harness);
        try
        {
            await api.WaitForMailboxAsync(m => m["state"]!.GetValue<string>() == "polling" && m["committed"]?.GetValue<long>() == 3, Timeout);

            dovecot.Stop();
            var stopped = DateTimeOffset.UtcNow;
            var stale = await api.WaitForMailboxAsync(m => m["state"]!.GetValue<string>() == "stale", Timeout);
            var after = DateTimeOffset.UtcNow - stopped;
            output.WriteLine($"stale {after.TotalSeconds:0.0} s after the server stopped: {stale.ToJsonString()}");
            Assert.True(after <= 3 * interval + TimeSpan.FromSeconds(2), $"stale only after {after}");
            Assert.NotNull(stale["last_error"]);

            var ready = await HttpApiFixture.JsonAsync(await api.Anonymous.GetAsync("/api/v1/ready"));
            var check = ready["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "stale")!;
            Assert.Equal("warn", check["status"]!.GetValue<string>());
            Assert.Contains(asset.Name.Value + "/INBOX", check["detail"]!.GetValue<string>(), StringComparison.Ordinal);

            dovecot.Start();
            var back = await api.WaitForMailboxAsync(m => m["state"]!.GetValue<string>() == "polling", Timeout);
            Assert.Null(back["stale_since"]);
            ready = await HttpApiFixture.JsonAsync(await api.Anonymous.GetAsync("/api/v1/ready"));
            Assert.Equal("pass", ready["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "stale")!["status"]!.GetValue<string>());
        }
        finally
        {
            dovecot.Start();
        }
    }

    [Fact]
    public async Task A_quarantined_email_is_listed_and_retried_through_the_api_once_the_server_serves_it()
    {
        var user = Dovecot.CreateUser("httpquar");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(75, 3));
        Dovecot.MakeUnservable(user.Name, "INBOX", 2);
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness);

        JsonObject? row = null;
        var deadline = DateTime.UtcNow + Timeout;
        while (row is null && DateTime.UtcNow < deadline)
        {
            var list = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/quarantine"));
            row = list["quarantine"]!.AsArray().FirstOrDefault()?.AsObject();
            await Task.Delay(500);
        }

        Assert.NotNull(row);
        output.WriteLine(row.ToJsonString());
        Assert.Equal((2u, "fetch"), (row["uid"]!.GetValue<uint>(), row["stage"]!.GetValue<string>()));
        var id = row["id"]!.GetValue<long>();

        var refused = await HttpApiFixture.JsonAsync(await api.Actor.PostAsync($"/api/v1/quarantine/{id}/retry", null));
        Assert.Equal("failed", refused["status"]!.GetValue<string>());
        Assert.Contains("the server still cannot serve it", refused["message"]!.GetValue<string>(), StringComparison.Ordinal);

        Dovecot.MakeServable(user.Name, "INBOX", 2);
        var retried = await HttpApiFixture.JsonAsync(await api.Actor.PostAsync($"/api/v1/quarantine/{id}/retry", null));
        output.WriteLine(retried.ToJsonString());
        Assert.Equal("success", retried["status"]!.GetValue<string>());
        var containerId = retried["summary"]!["container_id"]!.GetValue<long>();
        var container = JsonNode.Parse(await api.Reader.GetStringAsync($"/api/v1/containers/{containerId}"))!;
        Assert.Equal(2u, container["uid"]!.GetValue<uint>());
        Assert.Empty((await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/quarantine")))["quarantine"]!.AsArray());
        var all = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/quarantine?all=true"));
        Assert.NotNull(Assert.Single(all["quarantine"]!.AsArray())!["resolved_at"]);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Actor.PostAsync("/api/v1/quarantine/999/retry", null)).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_lists_every_endpoint()
    {
        var user = Dovecot.CreateUser("httpdoc");
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness, PollingMode.Off);
        var document = await HttpApiFixture.JsonAsync(await api.Anonymous.GetAsync("/api/v1/openapi.json"));
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        output.WriteLine(string.Join("\n", paths));
        foreach (var path in new[]
        {
            "/api/v1/health", "/api/v1/ready", "/api/v1/mailboxes", "/api/v1/containers", "/api/v1/containers/{id}", "/api/v1/containers/{id}/raw",
            "/api/v1/vault/{vaultId}", "/api/v1/assets/{asset}/test-connectivity", "/api/v1/assets/{asset}/get-email",
            "/api/v1/assets/{asset}/poll-now", "/api/v1/quarantine", "/api/v1/quarantine/{id}/retry", "/api/v1/deliveries",
            "/api/v1/deliveries/{id}/retry",
        })
        {
            Assert.Contains(path, paths);
        }
    }
}
