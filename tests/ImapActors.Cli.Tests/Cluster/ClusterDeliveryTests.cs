using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Delivery;
using ImapActors.Cli.Tests.Http;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// A destination has one sender in the whole cluster: two clustered engine hosts (in this process, over one PostgreSQL
/// and the real Dovecot) ingesting four folders between them deliver each container to a webhook once, every request
/// its first, and when the node sending leaves, the other one finishes the outbox.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterDeliveryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_nodes_send_each_container_to_a_webhook_once_and_the_survivor_takes_over_the_outbox()
    {
        const int perFolder = 40;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("clusterhook");
        string[] folders = ["INBOX", "A", "B", "C"];
        var generator = new SampleMail(174);
        foreach (var folder in folders)
        {
            dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, perFolder).Select(n => generator.Make(n)));
        }

        var secret = HttpApiFixture.NewKey();
        await using var receiver = new WebhookReceiver(secret);
        await receiver.StartAsync();
        using var harness = new EngineHarness(Store.PostgreSql, [dovecot.Asset(user, true, folders) with { DeliverTo = ["siem"] }]);
        var ports = new[] { LoopbackPorts.Unused(), LoopbackPorts.Unused() };
        var seeds = ports.Select(p => $"127.0.0.1:{p}").ToList();
        EngineSettings Node(int port) => harness.Settings with
        {
            Cluster = new ClusterSettings { Enabled = true, Hostname = "127.0.0.1", Port = port, SeedNodes = seeds, MinMembers = 2 },
            Vault = new VaultSettings { Store = VaultStore.Database },
            ShutdownTimeout = TimeSpan.FromSeconds(10),
            Destinations = [new DestinationSettings
            {
                Name = "siem", Type = DestinationType.Webhook, Url = new Uri(receiver.Url), Secret = new Secret(secret),
                Retry = new RetrySchedule(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1)),
            }],
        };

        var options = new EngineOptions { Polling = PollingMode.Scheduled };
        var first = await IngestionEngine.StartAsync(Node(ports[0]), options, CancellationToken.None);
        await using var second = await IngestionEngine.StartAsync(Node(ports[1]), options, CancellationToken.None);
        try
        {
            // The first node up holds the singleton; it leaves once some are delivered, and the second finishes.
            await DeliveryProcess.WaitForAsync(() => Task.FromResult(receiver.Accepted.Count >= 30), TimeSpan.FromMinutes(2), "30 deliveries");
            await first.StopGracefullyAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"first node left at {receiver.Accepted.Count} deliveries");
        }
        finally
        {
            await first.DisposeAsync();
        }

        await DeliveryProcess.WaitForAsync(() => Task.FromResult(receiver.Accepted.Count == folders.Length * perFolder), TimeSpan.FromMinutes(2),
            "every container delivered");
        await Task.Delay(TimeSpan.FromSeconds(2));
        var requests = receiver.Received.ToList();
        output.WriteLine($"{requests.Count} requests for {receiver.Accepted.Count} deliveries");
        Assert.Equal(folders.Length * perFolder, receiver.Accepted.Count);
        Assert.All(receiver.Accepted.Values, a => Assert.Equal(1, a.Accepted));
        Assert.All(requests, r => Assert.True(r.Verified));
        Assert.Equal(receiver.Accepted.Count, requests.Count);
    }
}
