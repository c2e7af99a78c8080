using System.Diagnostics;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// Three <c>imapactors run</c> processes clustered on loopback over one PostgreSQL and the real Dovecot, as an operator
/// runs them: a node SIGKILLed while it ingests is downed, its mailboxes resume on the others from their persisted
/// cursors, and every email is a container exactly once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_killed_node_s_mailboxes_resume_on_the_others_and_every_email_is_one_container()
    {
        const int users = 8, perFolder = 375;
        var generator = new SampleMail(11);
        var assets = Seed("nodes", users, perFolder, generator);
        var total = users * Folders.Length * perFolder;
        using var harness = new EngineHarness(Store.PostgreSql, assets, fetchBatchSize: 10);
        using var nodes = ThreeNodes(harness, out var ports);

        // Every node owns at least one mailbox, as its log says. (`cluster status` is a process of its own, slow enough
        // for the three nodes to ingest most of the emails while it runs: it is asked after the kill.)
        await ClusterNodes.WaitForAsync(
            () => Task.FromResult(Enumerable.Range(0, 3).All(i => ClusterNodes.Lines(nodes.Logs[i]).Any(l => l.Template == RunsHere))),
            TimeSpan.FromMinutes(2), 100);

        // Node 2 is killed once about 20 % of the emails are containers, some of them its own.
        await ClusterNodes.WaitForAsync(
            async () => await harness.ContainerCountAsync() >= total * 2 / 10 && await harness.ContainerCountAsync($"127.0.0.1:{ports[1]}") >= 20,
            TimeSpan.FromMinutes(3), 100);
        nodes[1].Kill();
        var before = await harness.ContainerCountAsync();
        Assert.True(before < total * 9 / 10, $"the node was killed after {before} of {total} containers: too late to show anything");
        var killedAt = Stopwatch.StartNew();
        output.WriteLine($"node 2 killed at {before} of {total} containers");

        await ClusterNodes.WaitForAsync(async () => await harness.ContainerCountAsync() >= total, TimeSpan.FromMinutes(4));
        output.WriteLine($"all {total} containers {killedAt.Elapsed.TotalSeconds:0} s after the kill");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var containers = await harness.ContainersAsync();
        AssertExactlyOnce(containers, total);

        // The status shows node 2 gone and its mailboxes on the survivors.
        await ClusterNodes.WaitForAsync(async () => (await StatusAsync(nodes)).Exit == 0, TimeSpan.FromSeconds(30));
        var status = (await StatusAsync(nodes)).Status;
        output.WriteLine("after: " + string.Join(", ", status.Members.Select(m => $"{m.Node} {m.Status} {m.Mailboxes}")));
        Assert.Equal(2, status.Members.Count);
        Assert.All(status.Members, m => Assert.True(m.Mailboxes > 0, $"{m.Node} owns no mailbox"));
        Assert.All(status.Mailboxes, m => Assert.Single(m.Nodes));
        Assert.DoesNotContain(status.Members, m => m.Node == $"127.0.0.1:{ports[1]}");
        Assert.Equal(users * Folders.Length, status.Members.Sum(m => m.Mailboxes));

        // Every node took part, and the survivors stop cleanly on SIGTERM.
        var byNode = containers.GroupBy(c => c.Node ?? "").ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", byNode.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal(3, byNode.Count);
        foreach (var i in new[] { 0, 2 })
        {
            Assert.True(nodes.Terminate(i, TimeSpan.FromSeconds(40)), $"node {i + 1} did not exit 0 within 40 s");
        }

        // The killed node's mailboxes started again on the survivors within 30 s of its being downed.
        var lost = ClusterNodes.Lines(nodes.Logs[1]).Where(l => l.Template == RunsHere).Select(l => l.Mailbox).ToHashSet();
        var survivors = nodes.Logs.Where((_, i) => i != 1).SelectMany(ClusterNodes.Lines).ToList();
        var downed = survivors.Where(l => l.Template.StartsWith("SBR took decision", StringComparison.Ordinal)).Min(l => l.At);
        var resumed = survivors.Where(l => l.Template == RunsHere && l.At > downed && lost.Contains(l.Mailbox))
            .GroupBy(l => l.Mailbox).ToDictionary(g => g.Key!, g => g.Min(l => l.At));
        output.WriteLine($"node 2 downed {downed:HH:mm:ss.f}; its {lost.Count} mailboxes resumed " +
            string.Join(", ", resumed.Select(kv => $"{kv.Key} +{(kv.Value - downed).TotalSeconds:0.0} s")));
        Assert.NotEmpty(lost);
        Assert.Equal(lost.Count, resumed.Count);
        Assert.All(resumed.Values, at => Assert.True(at - downed <= TimeSpan.FromSeconds(30), $"resumed {(at - downed).TotalSeconds:0} s after the downing"));

        // The vault is the database's: a container node 2 ingested before it was killed is read from another process.
        var fromKilled = containers.First(c => c.Node == $"127.0.0.1:{ports[1]}");
        var (exit, json, errors) = await CliProcess.RunAsync(nodes.Environment, TimeSpan.FromMinutes(1), "get-email", "--config", nodes.Config,
            "--asset", fromKilled.Asset, "--container-id", fromKilled.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(exit == 0, errors);
        Assert.Contains(fromKilled.MessageId!, json, StringComparison.Ordinal);
        AssertNoJournalConflict(nodes);
    }

    [Fact]
    public async Task A_rolling_restart_while_ingesting_loses_and_duplicates_nothing()
    {
        const int users = 4, perFolder = 500;
        var generator = new SampleMail(23);
        var assets = Seed("roll", users, perFolder, generator);
        using var harness = new EngineHarness(Store.PostgreSql, assets, fetchBatchSize: 10);
        using var nodes = ThreeNodes(harness, out var ports);

        var total = users * Folders.Length * perFolder;
        await ClusterNodes.WaitForAsync(async () => await harness.ContainerCountAsync() >= total / 10, TimeSpan.FromMinutes(3), 100);

        // Each node in turn: SIGTERM (it hands its mailboxes over and exits 0), then started again; one more email
        // arrives in every folder after each restart.
        for (var i = 0; i < ports.Count; i++)
        {
            var at = await harness.ContainerCountAsync();
            Assert.True(nodes.Terminate(i, TimeSpan.FromSeconds(30)), $"node {i + 1} did not exit 0 within 30 s");
            output.WriteLine($"node {i + 1} stopped at {at} containers");
            nodes.Start(i, ports[i]);
            total += await AppendToEveryFolderAsync(assets, generator, 9000 + i);
        }

        await ClusterNodes.WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total, TimeSpan.FromMinutes(4));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var containers = await harness.ContainersAsync();
        output.WriteLine($"{containers.Count} containers of {total}");
        AssertExactlyOnce(containers, total);
        AssertNoJournalConflict(nodes);
    }

    [Fact]
    public async Task A_fourth_node_joining_mid_ingest_takes_mailboxes_over_and_nothing_is_lost()
    {
        const int users = 8, perFolder = 250;
        var generator = new SampleMail(31);
        var assets = Seed("join", users, perFolder, generator);
        var total = users * Folders.Length * perFolder;
        using var harness = new EngineHarness(Store.PostgreSql, assets, fetchBatchSize: 10);
        using var nodes = ThreeNodes(harness, out _);

        await ClusterNodes.WaitForAsync(async () => await harness.ContainerCountAsync() >= total / 10, TimeSpan.FromMinutes(3), 100);
        var joinedAt = await harness.ContainerCountAsync();
        var fourth = Testing.LoopbackPorts.Unused();
        var started = DateTimeOffset.UtcNow;
        nodes.Start(3, fourth);
        output.WriteLine($"node 4 started at {joinedAt} of {total} containers");

        // Mail keeps arriving in every folder for 60 s, across the hand-overs to the new node.
        for (var round = 0; round < 30; round++)
        {
            total += await AppendToEveryFolderAsync(assets, generator, 9500 + round);
            await Task.Delay(TimeSpan.FromSeconds(2));
        }

        await ClusterNodes.WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total, TimeSpan.FromMinutes(4));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var containers = await harness.ContainersAsync();
        AssertExactlyOnce(containers, total);

        // The coordinator rebalanced shards to the new node, which ingested what it took over.
        var taken = ClusterNodes.Lines(nodes.Logs[3]).Where(l => l.Template == RunsHere).ToList();
        var byNode = containers.GroupBy(c => c.Node ?? "").ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"node 4 took {taken.Count} mailboxes, the first {(taken.Min(l => l.At) - started).TotalSeconds:0.0} s after it started " +
            $"({string.Join(", ", taken.Select(l => l.Mailbox))}); containers by node: " + string.Join(", ", byNode.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.NotEmpty(taken);

        // It went on ingesting in the mailboxes it took.
        Assert.True(byNode.GetValueOrDefault($"127.0.0.1:{fourth}") >= 5 * taken.Count, "the fourth node ingested next to nothing in the mailboxes it took");
        AssertNoJournalConflict(nodes);
    }

    private static async Task<(int Exit, ClusterStatus Status)> StatusAsync(ClusterNodes nodes)
    {
        var (exit, json, errors) = await CliProcess.RunAsync(nodes.Environment, TimeSpan.FromMinutes(1), "cluster", "status", "--config", nodes.Config, "--json");
        Assert.True(exit is 0 or 1, errors);
        return (exit, System.Text.Json.JsonSerializer.Deserialize<ClusterStatus>(json)!);
    }

    private const string RunsHere = "Mailbox {Mailbox} runs on this node";

    private static readonly string[] Folders = ["INBOX", "Reported"];

    /// <summary><paramref name="users"/> Dovecot users, each with <see cref="Folders"/> of <paramref name="perFolder"/> generated emails.</summary>
    private static List<AssetSettings> Seed(string prefix, int users, int perFolder, SampleMail generator)
    {
        var dovecot = TestServices.Dovecot;
        var assets = new List<AssetSettings>();
        for (var u = 0; u < users; u++)
        {
            var user = dovecot.CreateUser(prefix);
            foreach (var folder in Folders)
            {
                dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, perFolder).Select(n => generator.Make(u * 1000 + n)));
            }

            assets.Add(dovecot.Asset(user, true, Folders) with { MaxEmails = 20 });
        }

        return assets;
    }

    /// <summary>One more email in every folder of every asset; returns how many.</summary>
    private static async Task<int> AppendToEveryFolderAsync(List<AssetSettings> assets, SampleMail generator, int seed)
    {
        foreach (var asset in assets)
        {
            foreach (var folder in Folders)
            {
                await ImapAppender.AppendAsync(asset, folder, generator.Make(seed), CancellationToken.None);
            }
        }

        return assets.Count * Folders.Length;
    }

    /// <summary>Three nodes over the harness's configuration, all started; min-members 3, so no node starts mailboxes alone.</summary>
    private static ClusterNodes ThreeNodes(EngineHarness harness, out List<int> ports)
    {
        var (config, environment) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        ports = ClusterNodes.AppendClusterConfig(config, seeds: 3, minMembers: 3);
        var nodes = new ClusterNodes(config, environment, harness.Directory);
        for (var i = 0; i < ports.Count; i++)
        {
            nodes.Start(i, ports[i]);
        }

        return nodes;
    }

    private static void AssertExactlyOnce(IReadOnlyCollection<ImapActors.Storage.ContainerSummary> containers, int total)
    {
        Assert.Equal(total, containers.Count);
        Assert.Equal(total, containers.Select(c => (c.Asset, c.Folder, c.UidValidity, c.Uid)).Distinct().Count());
        Assert.Equal(total, containers.Select(c => (c.Asset, c.SourceDataIdentifier)).Distinct().Count());
    }

    private static void AssertNoJournalConflict(ClusterNodes nodes)
    {
        foreach (var log in nodes.Logs)
        {
            var text = File.ReadAllText(log);
            Assert.DoesNotContain("duplicate key", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Failed to persist", text, StringComparison.OrdinalIgnoreCase);
        }
    }
}
