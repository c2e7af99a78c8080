using System.Text.Json.Serialization;
using ImapActors.Actors.Cluster;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Host;

/// <summary>A member of the cluster in <see cref="ClusterStatus"/>.</summary>
/// <param name="Node">Its host:port.</param>
/// <param name="Status">Akka's member status (Up, Leaving, ...), as the reporting node sees it.</param>
/// <param name="Reachable">Whether the reporting node reaches it.</param>
/// <param name="Leader">Whether it is the leader.</param>
/// <param name="Mailboxes">The mailboxes its own report says run on it; null when it has not reported lately.</param>
/// <param name="ReportedAt">When it last reported; null when it never did.</param>
public sealed record ClusterStatusMember(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reachable")] bool Reachable,
    [property: JsonPropertyName("leader")] bool Leader,
    [property: JsonPropertyName("mailboxes")] int? Mailboxes,
    [property: JsonPropertyName("reported_at")] DateTimeOffset? ReportedAt);

/// <summary>A configured mailbox and the nodes it runs on (one; none when it is not running; two during a hand-over).</summary>
public sealed record ClusterStatusMailbox(
    [property: JsonPropertyName("asset")] string Asset,
    [property: JsonPropertyName("folder")] string Folder,
    [property: JsonPropertyName("nodes")] IReadOnlyList<string> Nodes);

/// <summary>
/// The cluster as its nodes last reported it (<see cref="ClusterNodeReporter"/>): the members as the freshest report
/// of an Up member sees them, and which node runs each configured mailbox. A report older than three reporting
/// intervals is of a node that stopped reporting; its mailboxes are not counted as running.
/// </summary>
/// <param name="SeenBy">The node whose view of the members this is; null when no node reported lately.</param>
/// <param name="SeenAt">When that node reported it.</param>
/// <param name="Members">The members, by address.</param>
/// <param name="Mailboxes">Every configured mailbox, in configuration order.</param>
/// <param name="Problems">What an operator should look at, one line each; empty when every member is Up and reachable and
/// every mailbox runs on exactly one node.</param>
public sealed record ClusterStatus(
    [property: JsonPropertyName("seen_by")] string? SeenBy,
    [property: JsonPropertyName("seen_at")] DateTimeOffset? SeenAt,
    [property: JsonPropertyName("members")] IReadOnlyList<ClusterStatusMember> Members,
    [property: JsonPropertyName("mailboxes")] IReadOnlyList<ClusterStatusMailbox> Mailboxes,
    [property: JsonPropertyName("problems")] IReadOnlyList<string> Problems)
{
    /// <summary>The age beyond which a node's report says it stopped reporting.</summary>
    public static readonly TimeSpan Stale = ClusterNodeReporter.Interval * 3;

    /// <summary>The status of the cluster of <paramref name="settings"/> from its nodes' <paramref name="reports"/>, at <paramref name="now"/>.</summary>
    public static ClusterStatus From(EngineSettings settings, IReadOnlyList<ClusterNodeView> reports, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(reports);
        var fresh = reports.Where(r => now - r.ReportedAt <= Stale).ToDictionary(r => r.Node);
        var problems = new List<string>();

        // The leader's view when it reports, else the freshest view of a member that sees itself Up.
        var viewpoint = fresh.Values.Where(r => r.Leader == r.Node).FirstOrDefault()
            ?? fresh.Values.Where(r => r.Members.Any(m => m.Node == r.Node && m.Status == "Up")).MaxBy(r => r.ReportedAt);
        var members = new List<ClusterStatusMember>();
        if (viewpoint is null)
        {
            var last = reports.MaxBy(r => r.ReportedAt);
            problems.Add(last is null
                ? "no node has ever reported: is the cluster running on this database?"
                : $"no node has reported in the last {Stale.TotalSeconds:0} s (the last report, from {last.Node}, is {Age(now - last.ReportedAt)} old): is the cluster running?");
        }
        else
        {
            foreach (var member in viewpoint.Members.OrderBy(m => m.Node, StringComparer.Ordinal))
            {
                var own = fresh.GetValueOrDefault(member.Node);
                members.Add(new ClusterStatusMember(member.Node, member.Status, member.Reachable, viewpoint.Leader == member.Node,
                    own?.Mailboxes.Count, reports.FirstOrDefault(r => r.Node == member.Node)?.ReportedAt));
                if (member.Status != "Up" || !member.Reachable)
                {
                    problems.Add($"member {member.Node} is {member.Status}{(member.Reachable ? "" : " and unreachable")}");
                }
                else if (own is null)
                {
                    problems.Add($"member {member.Node} has not reported in the last {Stale.TotalSeconds:0} s");
                }
            }
        }

        var running = viewpoint is null ? [] : members.Where(m => m.Status is "Up" or "Leaving" or "Exiting").Select(m => m.Node).ToHashSet();
        var owners = fresh.Values.Where(r => running.Contains(r.Node))
            .SelectMany(r => r.Mailboxes.Select(m => (Mailbox: m, r.Node)))
            .ToLookup(x => x.Mailbox, x => x.Node);
        var mailboxes = settings.Assets.SelectMany(a => a.Folders.Select(f => new MailboxName(a.Name.Value, f.Value)))
            .Select(m => new ClusterStatusMailbox(m.Asset, m.Folder, owners[m].OrderBy(n => n, StringComparer.Ordinal).ToList()))
            .ToList();
        var idle = mailboxes.Count(m => m.Nodes.Count == 0);
        if (idle > 0 && viewpoint is not null)
        {
            problems.Add($"{idle} of {mailboxes.Count} mailboxes run on no node");
        }

        foreach (var twice in mailboxes.Where(m => m.Nodes.Count > 1))
        {
            problems.Add($"mailbox {twice.Asset}/{twice.Folder} is reported by {string.Join(" and ", twice.Nodes)} (a hand-over between two reports)");
        }

        return new ClusterStatus(viewpoint?.Node, viewpoint?.ReportedAt, members, mailboxes, problems);
    }

    /// <summary>A duration as an operator reads it: 4 s, 3 min, 2 h, 5 d.</summary>
    public static string Age(TimeSpan age) => age.TotalSeconds switch
    {
        < 0 => "0 s",
        < 120 => $"{age.TotalSeconds:0} s",
        < 7200 => $"{age.TotalMinutes:0} min",
        < 172800 => $"{age.TotalHours:0} h",
        _ => $"{age.TotalDays:0} d",
    };
}
