using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// Two engine hosts in this process, clustered on loopback over one PostgreSQL and the real Dovecot: the protocol of the
/// sharded mailboxes (each runs on one node; a node that leaves hands its mailboxes to the other). The acceptance of
/// cluster mode runs separate engine processes; this is the fast check of the wiring.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class InProcessClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Each_mailbox_runs_on_one_node_and_moves_when_its_node_leaves()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("cluster");
        string[] folders = ["INBOX", "A", "B", "C"];
        var generator = new SampleMail(7);
        foreach (var folder in folders)
        {
            dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, 20).Select(n => generator.Make(n)));
        }

        var asset = dovecot.Asset(user, true, folders) with { PollInterval = TimeSpan.FromSeconds(2) };
        using var harness = new EngineHarness(Store.PostgreSql, [asset]);
        var ports = new[] { LoopbackPorts.Unused(), LoopbackPorts.Unused() };
        var seeds = ports.Select(p => $"127.0.0.1:{p}").ToList();
        EngineSettings Node(int port) => harness.Settings with
        {
            Cluster = new ClusterSettings { Enabled = true, Hostname = "127.0.0.1", Port = port, SeedNodes = seeds },
            Vault = new VaultSettings { Store = VaultStore.Database },
            ShutdownTimeout = TimeSpan.FromSeconds(10),
        };

        var options = new EngineOptions { Polling = PollingMode.Scheduled };
        await using var first = await IngestionEngine.StartAsync(Node(ports[0]), options, CancellationToken.None);
        await using var second = await IngestionEngine.StartAsync(Node(ports[1]), options, CancellationToken.None);

        // Every email once, whichever node ingests it.
        await WaitForAsync(async () => (await harness.ContainersAsync()).Count == 80, TimeSpan.FromMinutes(2));

        // The shards were placed before the second node joined; the coordinator then moves some of them to it.
        HashSet<MailboxId> onFirst = [], onSecond = [];
        await WaitForAsync(async () =>
        {
            onFirst = (await Running(first)).ToHashSet();
            onSecond = (await Running(second)).ToHashSet();
            return onFirst.Count > 0 && onSecond.Count > 0 && onFirst.Count + onSecond.Count == folders.Length;
        }, TimeSpan.FromMinutes(1));
        output.WriteLine($"first: {string.Join(", ", onFirst)}; second: {string.Join(", ", onSecond)}");
        Assert.Empty(onFirst.Intersect(onSecond));

        // The second node leaves: its mailboxes hand over to the first, which then ingests what arrives in them.
        await second.StopAsync();
        foreach (var folder in folders)
        {
            await ImapAppender.AppendAsync(asset, folder, generator.Make(100 + folder.Length), CancellationToken.None);
        }

        await WaitForAsync(async () => (await harness.ContainersAsync()).Count == 84, TimeSpan.FromMinutes(2));
        Assert.Equal(folders.Length, (await Running(first)).Count());
        var containers = await harness.ContainersAsync();
        Assert.Equal(84, containers.Count);
        Assert.Equal(84, containers.Select(c => (c.Folder, c.Uid)).Distinct().Count());
    }

    [Fact]
    public async Task Run_once_is_refused_in_cluster_mode_with_one_line()
    {
        using var dir = new TempDir();
        var config = Path.Combine(dir.Path, "imapactors.conf");
        File.WriteAllText(config, """
            imapactors {
              storage { provider = postgresql, connection-string-env = "IMAPACTORS_TEST_DB" }
              vault { path = "vault", store = database }
              cluster { enabled = true, seed-nodes = ["127.0.0.1:4053"] }
              assets.a { server = "127.0.0.1", username = "u", password_env = "IMAPACTORS_TEST_PASSWORD" }
            }
            """);
        var environment = new Dictionary<string, string>
        {
            ["IMAPACTORS_TEST_DB"] = "Host=127.0.0.1;Port=1;Username=u;Password=p;Database=d",
            ["IMAPACTORS_TEST_PASSWORD"] = "p",
        };
        var (exit, _, stderr) = await CliProcess.RunAsync(environment, TimeSpan.FromMinutes(1), "run", "--once", "--config", config);
        Assert.Equal(2, exit);
        Assert.Contains("--once is not available in cluster mode", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("imapactors-cluster-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>The mailboxes whose entity runs on the node now (a handed-over mailbox stays in its status list, stopped).</summary>
    private static async Task<IEnumerable<MailboxId>> Running(IngestionEngine node) =>
        (await node.GetStatusAsync()).Where(s => s.Running).Select(s => s.Mailbox);

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(500, cts.Token);
        }
    }
}

/// <summary>Cluster tests run alone: each starts several nodes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}
