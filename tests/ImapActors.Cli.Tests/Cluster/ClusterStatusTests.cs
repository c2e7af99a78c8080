using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Storage;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>How <c>cluster status</c> reads the nodes' reports: whose view of the members, which mailbox runs where, what is wrong.</summary>
public sealed class ClusterStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static readonly EngineSettings Settings = new()
    {
        Storage = new StorageSettings(StorageProvider.PostgreSql, "Host=db"),
        VaultPath = "/var/lib/imapactors/vault",
        Assets =
        [
            new AssetSettings { Name = new AssetName("phish"), Server = "mail", Username = "u", Folders = [new FolderName("INBOX"), new FolderName("Reported")] },
            new AssetSettings { Name = new AssetName("abuse"), Server = "mail", Username = "u", Folders = [new FolderName("INBOX")] },
        ],
    };

    private static ClusterMemberView Up(string node) => new(node, "Up", true);

    private static ClusterNodeView Report(string node, TimeSpan age, string? leader, ClusterMemberView[] members, params (string, string)[] mailboxes) =>
        new(node, Now.AddHours(-1), Now - age, leader, members, mailboxes.Select(m => new MailboxName(m.Item1, m.Item2)).ToList());

    [Fact]
    public void Every_member_up_and_every_mailbox_on_one_node_is_no_problem_and_the_leader_s_view_is_shown()
    {
        ClusterMemberView[] members = [Up("n1:4053"), Up("n2:4053")];
        var status = ClusterStatus.From(Settings, [
            Report("n2:4053", TimeSpan.FromSeconds(1), "n1:4053", members, ("abuse", "INBOX")),
            Report("n1:4053", TimeSpan.FromSeconds(4), "n1:4053", members, ("phish", "INBOX"), ("phish", "Reported")),
        ], Now);

        Assert.Empty(status.Problems);
        Assert.Equal("n1:4053", status.SeenBy);
        Assert.Equal([("n1:4053", true, 2), ("n2:4053", false, 1)], status.Members.Select(m => (m.Node, m.Leader, m.Mailboxes ?? -1)));
        Assert.Equal(["n1:4053", "n1:4053", "n2:4053"], status.Mailboxes.Select(m => Assert.Single(m.Nodes)));
        Assert.Equal(["phish/INBOX", "phish/Reported", "abuse/INBOX"], status.Mailboxes.Select(m => $"{m.Asset}/{m.Folder}"));
    }

    [Fact]
    public void A_stale_report_does_not_count_its_mailboxes_and_an_unreachable_member_is_a_problem()
    {
        var seen = new[] { Up("n1:4053"), new ClusterMemberView("n2:4053", "Up", false) };
        var status = ClusterStatus.From(Settings, [
            Report("n1:4053", TimeSpan.FromSeconds(2), "n1:4053", seen, ("phish", "INBOX")),
            Report("n2:4053", TimeSpan.FromSeconds(40), "n1:4053", [Up("n1:4053"), Up("n2:4053")], ("phish", "Reported"), ("abuse", "INBOX")),
        ], Now);

        Assert.Equal(
            ["member n2:4053 is Up and unreachable", "2 of 3 mailboxes run on no node"],
            status.Problems);
        Assert.Null(status.Members.Single(m => m.Node == "n2:4053").Mailboxes);
        Assert.Empty(status.Mailboxes.Single(m => m.Folder == "Reported").Nodes);
    }

    [Fact]
    public void No_recent_report_says_when_the_last_one_was()
    {
        var status = ClusterStatus.From(Settings, [Report("n1:4053", TimeSpan.FromMinutes(5), "n1:4053", [Up("n1:4053")], ("phish", "INBOX"))], Now);
        Assert.Null(status.SeenBy);
        Assert.Equal(["no node has reported in the last 15 s (the last report, from n1:4053, is 5 min old): is the cluster running?"], status.Problems);
        Assert.All(status.Mailboxes, m => Assert.Empty(m.Nodes));

        Assert.Equal(["no node has ever reported: is the cluster running on this database?"], ClusterStatus.From(Settings, [], Now).Problems);
    }

    [Fact]
    public void A_mailbox_reported_by_two_nodes_is_named()
    {
        ClusterMemberView[] members = [Up("n1:4053"), Up("n2:4053")];
        var status = ClusterStatus.From(Settings, [
            Report("n1:4053", TimeSpan.FromSeconds(1), "n1:4053", members, ("phish", "INBOX"), ("phish", "Reported")),
            Report("n2:4053", TimeSpan.FromSeconds(3), "n1:4053", members, ("phish", "Reported"), ("abuse", "INBOX")),
        ], Now);
        Assert.Equal(["mailbox phish/Reported is reported by n1:4053 and n2:4053 (a hand-over between two reports)"], status.Problems);
    }
}
