using System.Diagnostics;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// Three <c>imapactors run</c> processes clustered on loopback over one PostgreSQL and the real Dovecot, as an operator
/// runs them: a node SIGKILLed while it ingests is downed, its mailboxes resume on the others from their persisted
/// cursors, and every email is a container exactly once.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly List<Process> _nodes = [];

    [Fact]
    public async Task A_killed_node_s_mailboxes_resume_on_the_others_and_every_email_is_one_container()
    {
        const int users = 8, perFolder = 375;
        var generator = new SampleMail(11);
        var assets = Seed("nodes", users, perFolder, generator);
        var total = users * Folders.Length * perFolder;
        using var harness = new EngineHarness(Store.PostgreSql, assets, fetchBatchSize: 10);
        var (config, environment, ports) = WriteClusterConfig(harness);
        var logs = ports.Select((_, i) => Path.Combine(harness.Directory, $"node-{i + 1}.log")).ToList();
        for (var i = 0; i < ports.Count; i++)
        {
            _nodes.Add(StartNode(config, environment, ports[i], logs[i]));
        }

        // Node 2 is killed once about 30 % of the emails are containers.
        await WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total * 3 / 10, TimeSpan.FromMinutes(3), 200);
        _nodes[1].Kill();
        var before = (await harness.ContainersAsync()).Count;
        Assert.True(before < total * 9 / 10, $"the node was killed after {before} of {total} containers: too late to show anything");
        var killedAt = Stopwatch.StartNew();
        output.WriteLine($"node 2 killed at {before} of {total} containers");

        await WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total, TimeSpan.FromMinutes(4));
        output.WriteLine($"all {total} containers {killedAt.Elapsed.TotalSeconds:0} s after the kill");
        await Task.Delay(TimeSpan.FromSeconds(3));

        var containers = await harness.ContainersAsync();
        Assert.Equal(total, containers.Count);
        Assert.Equal(total, containers.Select(c => (c.Asset, c.Folder, c.UidValidity, c.Uid)).Distinct().Count());
        Assert.Equal(total, containers.Select(c => (c.Asset, c.SourceDataIdentifier)).Distinct().Count());

        // Every node took part, and the survivors stop cleanly on SIGTERM.
        var byNode = containers.GroupBy(c => c.Node ?? "").ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", byNode.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal(3, byNode.Count);
        foreach (var i in new[] { 0, 2 })
        {
            Terminate(_nodes[i]);
            Assert.True(_nodes[i].WaitForExit(TimeSpan.FromSeconds(40)), $"node {i + 1} did not stop within 40 s");
            Assert.Equal(0, _nodes[i].ExitCode);
        }

        // The killed node's mailboxes started again on the survivors within 30 s of its being downed.
        var lost = Lines(logs[1]).Where(l => l.Template == "Mailbox {Mailbox} runs on this node").Select(l => l.Mailbox).ToHashSet();
        var survivors = logs.Where((_, i) => i != 1).SelectMany(Lines).ToList();
        var downed = survivors.Where(l => l.Template.StartsWith("SBR took decision", StringComparison.Ordinal)).Min(l => l.At);
        var resumed = survivors.Where(l => l.Template == "Mailbox {Mailbox} runs on this node" && l.At > downed && lost.Contains(l.Mailbox))
            .GroupBy(l => l.Mailbox).ToDictionary(g => g.Key!, g => g.Min(l => l.At));
        output.WriteLine($"node 2 downed {downed:HH:mm:ss.f}; its {lost.Count} mailboxes resumed " +
            string.Join(", ", resumed.Select(kv => $"{kv.Key} +{(kv.Value - downed).TotalSeconds:0.0} s")));
        Assert.NotEmpty(lost);
        Assert.Equal(lost.Count, resumed.Count);
        Assert.All(resumed.Values, at => Assert.True(at - downed <= TimeSpan.FromSeconds(30), $"resumed {(at - downed).TotalSeconds:0} s after the downing"));

        // The vault is the database's: a container node 2 ingested before it was killed is read from another process.
        var fromKilled = containers.First(c => c.Node == $"127.0.0.1:{ports[1]}");
        var (exit, json, errors) = await CliProcess.RunAsync(environment, TimeSpan.FromMinutes(1), "get-email", "--config", config,
            "--asset", fromKilled.Asset, "--container-id", fromKilled.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(exit == 0, errors);
        Assert.Contains(fromKilled.MessageId!, json, StringComparison.Ordinal);

        foreach (var log in logs)
        {
            var text = File.ReadAllText(log);
            Assert.DoesNotContain("duplicate key", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Failed to persist", text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task A_rolling_restart_while_ingesting_loses_and_duplicates_nothing()
    {
        const int users = 4, perFolder = 500;
        string[] folders = Folders;
        var generator = new SampleMail(23);
        var assets = Seed("roll", users, perFolder, generator);
        using var harness = new EngineHarness(Store.PostgreSql, assets, fetchBatchSize: 10);
        var (config, environment, ports) = WriteClusterConfig(harness);
        for (var i = 0; i < ports.Count; i++)
        {
            _nodes.Add(StartNode(config, environment, ports[i], Path.Combine(harness.Directory, $"node-{i + 1}.log")));
        }

        var total = users * folders.Length * perFolder;
        await WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total / 10, TimeSpan.FromMinutes(3), 200);

        // Each node in turn: SIGTERM (it hands its mailboxes over and exits 0), then started again; one more email
        // arrives in every folder after each restart.
        for (var i = 0; i < ports.Count; i++)
        {
            var at = (await harness.ContainersAsync()).Count;
            Terminate(_nodes[i]);
            Assert.True(_nodes[i].WaitForExit(TimeSpan.FromSeconds(30)), $"node {i + 1} did not stop within 30 s");
            Assert.Equal(0, _nodes[i].ExitCode);
            output.WriteLine($"node {i + 1} stopped at {at} containers");
            _nodes[i] = StartNode(config, environment, ports[i], Path.Combine(harness.Directory, $"node-{i + 1}-again.log"));
            foreach (var asset in assets)
            {
                foreach (var folder in folders)
                {
                    await ImapAppender.AppendAsync(asset, folder, generator.Make(9000 + i), CancellationToken.None);
                }
            }

            total += assets.Count * folders.Length;
        }

        await WaitForAsync(async () => (await harness.ContainersAsync()).Count >= total, TimeSpan.FromMinutes(4));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var containers = await harness.ContainersAsync();
        output.WriteLine($"{containers.Count} containers of {total}");
        Assert.Equal(total, containers.Count);
        Assert.Equal(total, containers.Select(c => (c.Asset, c.Folder, c.UidValidity, c.Uid)).Distinct().Count());
    }

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

    /// <summary>The harness's configuration with a three-node cluster on loopback, the vault in the database.</summary>
    private static (string Config, Dictionary<string, string> Environment, List<int> Ports) WriteClusterConfig(EngineHarness harness)
    {
        var (config, environment) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        var ports = Enumerable.Range(0, 3).Select(_ => LoopbackPorts.Unused()).ToList();
        File.AppendAllText(config, $$"""
            imapactors.cluster {
              enabled = true
              min-members = 3
              seed-nodes = [{{string.Join(", ", ports.Select(p => $"\"127.0.0.1:{p}\""))}}]
            }
            imapactors.engine.shutdown-timeout = 20s
            imapactors.vault.store = database
            """);
        return (config, environment, ports);
    }

    /// <summary>The JSON log lines of a node: when, the message template, and the mailbox it names.</summary>
    private static IEnumerable<(DateTimeOffset At, string Template, string? Mailbox)> Lines(string log)
    {
        foreach (var line in File.ReadLines(log))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var json = System.Text.Json.JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.TryGetProperty("@t", out var t) && root.TryGetProperty("@mt", out var mt))
            {
                yield return (t.GetDateTimeOffset(), mt.GetString() ?? "",
                    root.TryGetProperty("Mailbox", out var m) ? m.GetString() : null);
            }
        }
    }

    private static Process StartNode(string config, Dictionary<string, string> environment, int port, string log)
    {
        var env = new Dictionary<string, string>(environment) { ["IMAPACTORS_CLUSTER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var process = CliProcess.Start(env, "run", "--config", config);
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(writer, e.Data);
        process.ErrorDataReceived += (_, e) => Write(writer, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Write(StreamWriter writer, string? line)
    {
        if (line is not null)
        {
            lock (writer)
            {
                writer.WriteLine(line);
            }
        }
    }

    private static void Terminate(Process process)
    {
        if (!process.HasExited)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, int everyMs = 1000)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(everyMs, cts.Token);
        }
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }

            node.Dispose();
        }
    }
}
