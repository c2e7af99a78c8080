using System.CommandLine;
using System.Text.Json;
using ImapActors.Host;
using ImapActors.Storage;

namespace ImapActors.Cli.Commands;

/// <summary>
/// <c>imapactors cluster status</c>: the members of the cluster and the node each mailbox runs on, from the reports the
/// nodes write to the shared database every few seconds (the command does not join the cluster).
/// </summary>
internal static class ClusterCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static Command Create()
    {
        var config = CliSupport.ConfigOption();
        var json = new Option<bool>("--json") { Description = "Print JSON: members, mailboxes with their nodes, problems." };
        var status = new Command("status",
            "List the cluster's members with their state, and which node runs each mailbox. Exit code 0 when every member is Up " +
            "and every mailbox runs on one node, 1 otherwise.")
        {
            config, json,
        };
        status.SetAction((r, ct) => StatusAsync(r.GetValue(config)!, r.GetValue(json), ct));
        return new Command("cluster", "Inspect a cluster of engine nodes.") { status };
    }

    private static async Task<int> StatusAsync(FileInfo configFile, bool json, CancellationToken cancellationToken)
    {
        var settings = CliSupport.LoadSettings(configFile);
        if (settings is null)
        {
            return CliSupport.UsageError;
        }

        if (!settings.Cluster.Enabled)
        {
            await Console.Error.WriteLineAsync($"Cluster mode is off in '{configFile.FullName}' (imapactors.cluster.enabled = false): there is no cluster to show.");
            return CliSupport.UsageError;
        }

        await using var store = ContainerStoreFactory.Create(settings.Storage);
        await store.InitializeAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var status = ClusterStatus.From(settings, await store.ReadNodeViewsAsync(cancellationToken), now);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(status, Json));
            return status.Problems.Count == 0 ? 0 : 1;
        }

        if (status.SeenBy is { } seenBy)
        {
            Console.WriteLine($"Members as {seenBy} saw them {ClusterStatus.Age(now - status.SeenAt!.Value)} ago:");
            Console.Write(ContainersCommand.Table(["NODE", "STATUS", "REACHABLE", "LEADER", "MAILBOXES", "REPORTED"],
                status.Members.Select(m => new[]
                {
                    m.Node, m.Status, m.Reachable ? "yes" : "no", m.Leader ? "yes" : "", m.Mailboxes?.ToString() ?? "-",
                    m.ReportedAt is { } at ? ClusterStatus.Age(now - at) + " ago" : "never",
                })));
            Console.WriteLine();
        }

        // A mailbox on an unreachable member may be running or lost: it moves once the member is downed.
        var unreachable = status.Members.Where(m => !m.Reachable).Select(m => m.Node).ToHashSet();
        Console.Write(ContainersCommand.Table(["ASSET", "FOLDER", "NODE"],
            status.Mailboxes.Select(m => new[]
            {
                m.Asset, m.Folder,
                m.Nodes.Count == 0 ? "(not running)" : string.Join(", ", m.Nodes.Select(n => unreachable.Contains(n) ? n + " (unreachable)" : n)),
            })));
        Console.WriteLine($"{status.Mailboxes.Count} mailboxes, {status.Mailboxes.Count(m => m.Nodes.Count > 0)} running; {status.Members.Count} members");
        foreach (var problem in status.Problems)
        {
            Console.WriteLine($"problem: {problem}");
        }

        return status.Problems.Count == 0 ? 0 : 1;
    }
}
