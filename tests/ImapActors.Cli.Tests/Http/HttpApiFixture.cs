using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ImapActors.Cli.Tests.Http;

/// <summary>
/// A real engine (scheduled polling against the real Dovecot) serving the HTTP API on a free loopback port, with two
/// keys: one that may read, one that may read and act.
/// </summary>
internal sealed class HttpApiFixture : IAsyncDisposable
{
    private HttpApiFixture(IngestionEngine engine, Uri address, string reader, string actor)
    {
        Engine = engine;
        Address = address;
        ReaderKey = reader;
        ActorKey = actor;
        Anonymous = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        Reader = Client(reader);
        Actor = Client(actor);
    }

    public IngestionEngine Engine { get; }

    public Uri Address { get; }

    public string ReaderKey { get; }

    public string ActorKey { get; }

    public HttpClient Anonymous { get; }

    /// <summary>A client with the key of scope read.</summary>
    public HttpClient Reader { get; }

    /// <summary>A client with the key of scopes read and act.</summary>
    public HttpClient Actor { get; }

    public static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>The engine of <paramref name="harness"/> with the HTTP API on, its two keys made up for this test.</summary>
    public static async Task<HttpApiFixture> StartAsync(EngineHarness harness, PollingMode polling = PollingMode.Scheduled,
        Func<EngineSettings, EngineSettings>? configure = null)
    {
        var reader = NewKey();
        var actor = NewKey();
        harness.Settings = harness.Settings with
        {
            Http = new HttpSettings { Enabled = true, Port = 0 },
            ApiKeys = [new ApiKeySettings("analysts", new Secret(reader), ApiScopes.Read), new ApiKeySettings("playbooks", new Secret(actor), ApiScopes.Read | ApiScopes.Act)],
        };
        if (configure is not null)
        {
            harness.Settings = configure(harness.Settings);
        }

        var engine = await IngestionEngine.StartAsync(harness.Settings,
            new EngineOptions { Polling = polling, Features = s => s.AddHttpApi() }, CancellationToken.None);
        var address = engine.Services.GetRequiredService<HttpApiServer>().Addresses[0];
        return new HttpApiFixture(engine, address, reader, actor);
    }

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public static async Task<JsonObject> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"not a JSON object: {text}");
    }

    public static StringContent Body(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    /// <summary>Polls <c>/api/v1/mailboxes</c> until <paramref name="condition"/> holds for the only mailbox.</summary>
    public async Task<JsonObject> WaitForMailboxAsync(Func<JsonObject, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonObject? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var list = await JsonAsync(await Reader.GetAsync("/api/v1/mailboxes"));
            last = list["mailboxes"]!.AsArray()[0]!.AsObject();
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"the mailbox did not get there within {timeout}; last seen: {last?.ToJsonString()}");
    }

    public async ValueTask DisposeAsync()
    {
        Anonymous.Dispose();
        Reader.Dispose();
        Actor.Dispose();
        await Engine.DisposeAsync();
    }
}
