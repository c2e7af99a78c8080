using System.Diagnostics;
using System.Globalization;
using ImapActors.Cli.Tests.Integration;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// <c>imapactors run</c> processes clustered on loopback, as an operator runs them: one configuration file for all, each
/// node's port from <c>IMAPACTORS_CLUSTER_PORT</c>, each node's output in its own log file. Disposing kills what still runs.
/// </summary>
public sealed class ClusterNodes(string config, IReadOnlyDictionary<string, string> environment, string directory) : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly List<Process> _all = [];
    private readonly List<string> _logs = [];

    public string Config => config;

    public IReadOnlyDictionary<string, string> Environment => environment;

    /// <summary>The running process of node <c>i</c> (0-based), the last one started on that slot.</summary>
    public Process this[int i] => _processes[i];

    /// <summary>Every log file written, in the order the nodes were started.</summary>
    public IReadOnlyList<string> Logs => _logs;

    /// <summary>
    /// Appends a cluster of <paramref name="seeds"/> loopback seed nodes to <paramref name="config"/>, with the vault in
    /// the database, and returns their ports; <paramref name="minMembers"/> nodes must be up before mailboxes start.
    /// </summary>
    public static List<int> AppendClusterConfig(string config, int seeds, int minMembers, string extra = "")
    {
        var ports = Enumerable.Range(0, seeds).Select(_ => Testing.LoopbackPorts.Unused()).ToList();
        File.AppendAllText(config, $$"""

            imapactors.cluster {
              enabled = true
              min-members = {{minMembers.ToString(CultureInfo.InvariantCulture)}}
              seed-nodes = [{{string.Join(", ", ports.Select(p => $"\"127.0.0.1:{p}\""))}}]
            }
            imapactors.engine.shutdown-timeout = 20s
            imapactors.vault.store = database
            {{extra}}
            """);
        return ports;
    }

    /// <summary>Starts a node on <paramref name="port"/>, in slot <paramref name="slot"/> (a new slot when it is the next one), logging to a new file.</summary>
    public Process Start(int slot, int port)
    {
        var env = new Dictionary<string, string>(environment) { ["IMAPACTORS_CLUSTER_PORT"] = port.ToString(CultureInfo.InvariantCulture) };
        var log = Path.Combine(directory, $"node-{slot + 1}-{_logs.Count + 1}.log");
        var process = CliProcess.Start(env, "run", "--config", config);
        var writer = new StreamWriter(log) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(writer, e.Data);
        process.ErrorDataReceived += (_, e) => Write(writer, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _logs.Add(log);
        _all.Add(process);
        if (slot == _processes.Count)
        {
            _processes.Add(process);
        }
        else
        {
            _processes[slot] = process;
        }

        return process;
    }

    /// <summary>SIGTERM, as an orchestrator stops a node; waits up to <paramref name="limit"/> and returns whether it exited 0.</summary>
    public bool Terminate(int slot, TimeSpan limit)
    {
        var process = _processes[slot];
        if (!process.HasExited)
        {
            Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        }

        return process.WaitForExit(limit) && process.ExitCode == 0;
    }

    /// <summary>The JSON log lines of a node: when, the message template, and the mailbox it names.</summary>
    public static IEnumerable<(DateTimeOffset At, string Template, string? Mailbox)> Lines(string log)
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

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, int everyMs = 1000)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!await condition())
        {
            await Task.Delay(everyMs, cts.Token);
        }
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

    public void Dispose()
    {
        foreach (var process in _all)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.Dispose();
        }
    }
}
