using ImapActors.Domain;

namespace ImapActors.Configuration.Tests;

/// <summary>
/// The cluster section, <c>imapactors.cluster { enabled, hostname, port, seed-nodes }</c>, and the environment variables
/// that set a node's own address over the file. The environment is this test's dictionary, never the process's, so
/// the tests run in parallel with the others.
/// </summary>
public sealed class ClusterConfigTests
{
    private const string Asset = """
        imapactors.assets.phish { server = "mail.example.org", username = "soc", password_env = "PHISH_PASSWORD" }
        """;

    // The shared store and a vault every node reads, as an enabled cluster needs.
    private const string PostgreSql = """
        imapactors.storage { provider = postgresql, connection-string-env = "DB" }
        imapactors.vault.store = database
        """;

    private readonly Dictionary<string, string> _environment = new()
    {
        ["PHISH_PASSWORD"] = "s3cret",
        ["DB"] = "Host=db;Username=u;Password=p;Database=d",
    };

    private EngineSettings Parse(string hocon) =>
        EngineConfig.Parse(Asset + "\n" + hocon, Path.GetTempPath(), name => _environment.GetValueOrDefault(name));

    private IReadOnlyList<string> Refused(string hocon) => Assert.Throws<ConfigurationException>(() => Parse(hocon)).Problems;

    private static string Cluster(string body) => PostgreSql + $"\nimapactors.cluster {{ {body} }}";

    [Fact]
    public void Without_the_section_the_cluster_is_off_with_the_documented_defaults()
    {
        var cluster = Parse("").Cluster;

        Assert.Equal(new ClusterSettings(), cluster);
        Assert.Equal((false, "127.0.0.1", 4053), (cluster.Enabled, cluster.Hostname, cluster.Port));
        Assert.Empty(cluster.SeedNodes);
        Assert.Equal(Environment.MachineName, cluster.NodeName);
    }

    [Fact]
    public void Every_key_is_read_and_names_the_node_by_its_address()
    {
        var cluster = Parse(Cluster("""
            enabled = true, hostname = "10.0.0.11", port = 4054, seed-nodes = ["10.0.0.11:4054", "engine-2.internal:4053", "[fd00::2]:4053"]
            """)).Cluster;

        Assert.Equal((true, "10.0.0.11", 4054), (cluster.Enabled, cluster.Hostname, cluster.Port));
        Assert.Equal(["10.0.0.11:4054", "engine-2.internal:4053", "[fd00::2]:4053"], cluster.SeedNodes);
        Assert.Equal("10.0.0.11:4054", cluster.NodeName);
    }

    [Fact]
    public void The_environment_sets_hostname_and_port_over_the_file()
    {
        _environment["IMAPACTORS_CLUSTER_HOSTNAME"] = "engine-2.internal";
        _environment["IMAPACTORS_CLUSTER_PORT"] = "5000";

        var cluster = Parse(Cluster("enabled = true, hostname = \"10.0.0.11\", port = 4054, seed-nodes = [\"10.0.0.11:4054\"]")).Cluster;

        Assert.Equal(("engine-2.internal", 5000, "engine-2.internal:5000"), (cluster.Hostname, cluster.Port, cluster.NodeName));
    }

    [Fact]
    public void The_environment_sets_hostname_and_port_over_the_defaults_too_and_one_without_the_other()
    {
        _environment["IMAPACTORS_CLUSTER_PORT"] = "4100";
        var cluster = Parse("").Cluster;
        Assert.Equal(("127.0.0.1", 4100), (cluster.Hostname, cluster.Port));

        _environment.Remove("IMAPACTORS_CLUSTER_PORT");
        _environment["IMAPACTORS_CLUSTER_HOSTNAME"] = "10.0.0.12";
        cluster = Parse(Cluster("port = 4200")).Cluster;
        Assert.Equal(("10.0.0.12", 4200), (cluster.Hostname, cluster.Port));
    }

    [Theory]
    [InlineData("IMAPACTORS_CLUSTER_PORT", "0",
        "key 'imapactors.cluster.port': must be a port number from 1 to 65535, got 0 (from environment variable IMAPACTORS_CLUSTER_PORT)")]
    [InlineData("IMAPACTORS_CLUSTER_PORT", "http",
        "key 'imapactors.cluster.port': must be a port number from 1 to 65535, got 'http' (from environment variable IMAPACTORS_CLUSTER_PORT)")]
    [InlineData("IMAPACTORS_CLUSTER_HOSTNAME", "",
        "key 'imapactors.cluster.hostname': must not be empty (from environment variable IMAPACTORS_CLUSTER_HOSTNAME)")]
    [InlineData("IMAPACTORS_CLUSTER_HOSTNAME", "10.0.0.11:4053",
        "key 'imapactors.cluster.hostname': must be a host name or IP address only (the port goes in 'port'), got '10.0.0.11:4053' (from environment variable IMAPACTORS_CLUSTER_HOSTNAME)")]
    public void A_bad_value_from_the_environment_is_refused_naming_the_variable(string variable, string value, string expected)
    {
        _environment[variable] = value;

        Assert.Equal(expected, Assert.Single(Refused(Cluster("port = 4053, hostname = \"10.0.0.11\""))));
    }

    [Theory]
    [InlineData("port = 0", "key 'imapactors.cluster.port': must be a port number from 1 to 65535, got 0")]
    [InlineData("port = 65536", "key 'imapactors.cluster.port': must be a port number from 1 to 65535, got 65536")]
    [InlineData("hostname = \"\"", "key 'imapactors.cluster.hostname': must not be empty")]
    [InlineData("hostname = \"engine 1\"",
        "key 'imapactors.cluster.hostname': must be a host name or IP address only (the port goes in 'port'), got 'engine 1'")]
    [InlineData("enabled = maybe", "key 'imapactors.cluster.enabled': must be true or false, got 'maybe'")]
    [InlineData("seed-nodes = \"10.0.0.11:4053\"",
        "key 'imapactors.cluster.seed-nodes': must be a list of strings: [\"a\", \"b\"] or a JSON list in a string, got '10.0.0.11:4053'")]
    [InlineData("seed-node = []", "key 'imapactors.cluster.seed-node': unknown key (did you mean 'seed-nodes'?)")]
    public void A_bad_value_in_the_file_is_refused_with_key_and_reason(string body, string expected) =>
        Assert.Equal(expected, Assert.Single(Refused(Cluster(body))));

    [Theory]
    [InlineData("10.0.0.11", "'10.0.0.11' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("10.0.0.11:", "'10.0.0.11:' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData(":4053", "':4053' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("10.0.0.11:70000", "'10.0.0.11:70000' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("10.0.0.11:-1", "'10.0.0.11:-1' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("engine 1:4053", "'engine 1:4053' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("fd00::2:4053", "'fd00::2:4053' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'")]
    [InlineData("akka.tcp://imapactors@10.0.0.11:4053",
        "'akka.tcp://imapactors@10.0.0.11:4053' is an Akka address; list host:port ('10.0.0.11:4053'), the engine builds the address")]
    [InlineData("akka://imapactors@engine-2:4053",
        "'akka://imapactors@engine-2:4053' is an Akka address; list host:port ('engine-2:4053'), the engine builds the address")]
    public void A_seed_node_that_is_not_host_port_is_refused_by_name(string node, string expected) =>
        Assert.Equal("key 'imapactors.cluster.seed-nodes': " + expected,
            Assert.Single(Refused(Cluster($"enabled = true, seed-nodes = [\"10.0.0.12:4053\", \"{node}\"]"))));

    [Fact]
    public void A_seed_node_listed_twice_is_refused() =>
        Assert.Equal("key 'imapactors.cluster.seed-nodes': lists '10.0.0.11:4053' twice",
            Assert.Single(Refused(Cluster("enabled = true, seed-nodes = [\"10.0.0.11:4053\", \"10.0.0.12:4053\", \"10.0.0.11:4053\"]"))));

    [Fact]
    public void Seed_nodes_are_checked_while_the_cluster_is_off() =>
        Assert.Equal("key 'imapactors.cluster.seed-nodes': 'x' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'",
            Assert.Single(Refused("imapactors.cluster.seed-nodes = [x]")));

    [Fact]
    public void An_enabled_cluster_needs_postgresql_because_the_nodes_share_the_store() =>
        Assert.Equal(
            "key 'imapactors.cluster.enabled': cluster mode needs storage provider postgresql, because every node shares the journal, the containers and the vault",
            Assert.Single(Refused("imapactors.cluster { enabled = true, seed-nodes = [\"127.0.0.1:4053\"] }")));

    [Fact]
    public void An_enabled_cluster_needs_seed_nodes()
    {
        Assert.Equal(
            "key 'imapactors.cluster.seed-nodes': must list at least one seed node when the cluster is enabled: a node must know whom to join (a single-node cluster lists itself)",
            Assert.Single(Refused(Cluster("enabled = true"))));

        // A single-node cluster lists itself.
        Assert.Equal(["127.0.0.1:4053"], Parse(Cluster("enabled = true, seed-nodes = [\"127.0.0.1:4053\"]")).Cluster.SeedNodes);
    }

    [Fact]
    public void An_enabled_cluster_on_sqlite_without_seed_nodes_gets_both_problems() =>
        Assert.Equal(
        [
            "key 'imapactors.cluster.enabled': cluster mode needs storage provider postgresql, because every node shares the journal, the containers and the vault",
            "key 'imapactors.cluster.seed-nodes': must list at least one seed node when the cluster is enabled: a node must know whom to join (a single-node cluster lists itself)",
        ], Refused("imapactors.cluster.enabled = true"));

    [Fact]
    public void A_cluster_that_is_off_runs_on_sqlite_without_seed_nodes() =>
        Assert.False(Parse("imapactors.cluster { enabled = false, port = 4100 }").Cluster.Enabled);

    private const string OAuthAsset = """
        imapactors.assets.m365 {
          server = "outlook.office365.com", username = "soc@example.org", auth_type = OAuth, provider = microsoft
          client_id = "cid", client_secret_env = "PHISH_PASSWORD"
        }
        """;

    [Fact]
    public void A_cluster_with_an_authorization_code_asset_needs_the_tokens_in_the_database()
    {
        var enabled = Cluster("enabled = true, seed-nodes = [\"127.0.0.1:4053\"]");
        Assert.Equal(
            "key 'imapactors.oauth.store': asset 'm365' uses OAuth, and clustered nodes must share its tokens and refresh them one at a time: set store = database",
            Assert.Single(Refused(OAuthAsset + "\n" + enabled)));

        Assert.Equal(TokenStoreKind.Database,
            EngineConfig.ParseOAuthStore(Asset + "\n" + OAuthAsset + "\n" + enabled + "\nimapactors.oauth.store = database", Path.GetTempPath(),
                name => _environment.GetValueOrDefault(name)).Store);

        // One node keeps its files; so does a cluster whose OAuth assets are app-only (nothing to rotate).
        Assert.Equal(TokenStoreKind.File, EngineConfig.ParseOAuthStore(Asset + "\n" + OAuthAsset, Path.GetTempPath(), name => _environment.GetValueOrDefault(name)).Store);
        Assert.Equal(2, Parse(OAuthAsset.Replace("client_id", "grant_type = client_credentials, tenant = \"t\", client_id", StringComparison.Ordinal) + "\n" + enabled).Assets.Count);
    }

    [Fact]
    public void The_token_store_is_file_or_database() =>
        Assert.Contains("imapactors.oauth.store", Assert.Single(Refused("imapactors.oauth.store = redis")), StringComparison.Ordinal);
}
