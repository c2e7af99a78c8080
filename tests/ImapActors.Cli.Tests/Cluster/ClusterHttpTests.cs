using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Http;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Http;
using ImapActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// The HTTP API of two clustered engine hosts (in this process, over one PostgreSQL and the real Dovecot): each node
/// lists every configured mailbox, its own with their detail and the other's as elsewhere, on the node that runs it;
/// /ready checks the node is an Up member.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterHttpTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Each_node_lists_every_mailbox_with_the_node_that_runs_it_and_is_ready_as_an_up_member()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("clusterhttp");
        string[] folders = ["INBOX", "A", "B", "C"];
        var generator = new SampleMail(17);
        foreach (var folder in folders)
        {
            dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, 5).Select(n => generator.Make(n)));
        }

        using var harness = new EngineHarness(Store.PostgreSql, [dovecot.Asset(user, true, folders) with { PollInterval = TimeSpan.FromSeconds(2) }]);
        var ports = new[] { LoopbackPorts.Unused(), LoopbackPorts.Unused() };
        var seeds = ports.Select(p => $"127.0.0.1:{p}").ToList();
        var key = HttpApiFixture.NewKey();
        EngineSettings Node(int port) => harness.Settings with
        {
            Cluster = new ClusterSettings { Enabled = true, Hostname = "127.0.0.1", Port = port, SeedNodes = seeds, MinMembers = 2 },
            Vault = new VaultSettings { Store = VaultStore.Database },
            ShutdownTimeout = TimeSpan.FromSeconds(10),
            Http = new HttpSettings { Enabled = true, Port = 0 },
            ApiKeys = [new ApiKeySettings("ops", new Secret(key), ApiScopes.Read)],
        };

        var options = new EngineOptions { Polling = PollingMode.Scheduled, Features = s => s.AddHttpApi() };
        await using var first = await IngestionEngine.StartAsync(Node(ports[0]), options, CancellationToken.None);
        await using var second = await IngestionEngine.StartAsync(Node(ports[1]), options, CancellationToken.None);
        var clients = new[] { first, second }.Select(e =>
        {
            var client = new HttpClient { BaseAddress = e.Services.GetRequiredService<HttpApiServer>().Addresses[0] };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return client;
        }).ToArray();
        var names = ports.Select(p => $"127.0.0.1:{p}").ToArray();

        // Both nodes run mailboxes and have reported them (every 5 s): each lists all four, its own polling.
        List<JsonObject>[] lists = [[], []];
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        bool Settled() => Enumerable.Range(0, 2).All(i =>
            lists[i].Count == folders.Length
            && lists[i].Any(m => m["state"]!.GetValue<string>() == "polling")
            && lists[i].All(m => m["state"]!.GetValue<string>() is "polling" or "elsewhere")
            && lists[i].All(m => m["node"] is not null));
        do
        {
            for (var i = 0; i < 2; i++)
            {
                var body = JsonNode.Parse(await clients[i].GetStringAsync("/api/v1/mailboxes"))!;
                lists[i] = [.. body["mailboxes"]!.AsArray().Select(m => m!.AsObject())];
            }

            await Task.Delay(500);
        }
        while (!Settled() && DateTime.UtcNow < deadline);

        output.WriteLine(string.Join("\n", lists.Select(l => string.Join(" | ", l.Select(m => $"{m["folder"]}: {m["state"]} on {m["node"]}")))));
        Assert.True(Settled(), "the nodes' lists did not settle");
        for (var i = 0; i < 2; i++)
        {
            foreach (var m in lists[i])
            {
                var folder = m["folder"]!.GetValue<string>();
                var mine = m["state"]!.GetValue<string>() == "polling";
                Assert.Equal(mine ? names[i] : names[1 - i], m["node"]!.GetValue<string>());

                // The other node says the same of this mailbox, the other way round.
                var there = lists[1 - i].Single(o => o["folder"]!.GetValue<string>() == folder);
                Assert.Equal(mine ? "elsewhere" : "polling", there["state"]!.GetValue<string>());
            }

            var ready = JsonNode.Parse(await clients[i].GetStringAsync("/api/v1/ready"))!;
            var cluster = ready["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "cluster")!;
            Assert.Equal(("pass", $"{names[i]} is an Up member"), (cluster["status"]!.GetValue<string>(), cluster["detail"]!.GetValue<string>()));
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }
    }
}
