using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ImapActors.Cli.Samples;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Storage;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Cluster;

/// <summary>
/// An OAuth asset whose folders run on three <c>imapactors run</c> processes, its tokens in the database: the token
/// endpoint, which rotates refresh tokens as Microsoft does, sees one refresh per expiry, not one per node, and no node
/// ever logs in with an expired token or loses the grant.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterOAuthTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Renewed a tenth of its lifetime early: every 13.5 s.
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RenewalPeriod = Lifetime * 0.9;

    private readonly OAuthTestServer _server = new() { AccessTokenLifetime = Lifetime, RotateRefreshTokens = true };
    private readonly string _directory = Directory.CreateTempSubdirectory("imapactors-oauth-cluster-").FullName;
    private DovecotInstance _dovecot = null!;

    public Task InitializeAsync()
    {
        _dovecot = OAuthDovecot.Start("oauth-cluster", _server.IntrospectionUrl);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _dovecot.Stop();
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Three_nodes_refresh_a_rotating_grant_once_per_expiry_between_them()
    {
        string[] folders = ["INBOX", "F1", "F2", "F3", "F4", "F5"];
        var user = _dovecot.CreateUser("ocl");
        var generator = new SampleMail(41);
        foreach (var folder in folders)
        {
            _dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, 5).Select(n => generator.Make(n)));
        }

        var total = folders.Length * 5;
        var (clientId, clientSecret) = ("client-cluster", "secret-" + Guid.NewGuid().ToString("N"));
        _server.AddClient(clientId, clientSecret);
        var (_, refresh) = _server.IssueGrant(clientId, user.Name);

        // The grant as `oauth authorize` would have stored it, in the database every node reads.
        var storage = new StorageSettings(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("oauthcluster"));
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(Path.Combine(_directory, "tokens.key"), key + "\n");
        using (var store = DatabaseTokenStore.Create(storage, new Secret(key)))
        {
            store.Save(new AssetName("m365"), new StoredTokens(clientId, refresh, null, null));
        }

        var config = Path.Combine(_directory, "imapactors.conf");
        File.WriteAllText(config, $$"""
            imapactors {
              storage { provider = postgresql, connection-string = ${?IMAPACTORS_TEST_DB} }
              oauth { store = database, key_file = "tokens.key" }
              assets.m365 {
                server = "{{_dovecot.Host}}", port = {{_dovecot.TlsPort.ToString(CultureInfo.InvariantCulture)}}, ca_file = "{{_dovecot.CaFile}}"
                username = "{{user.Name}}", auth_type = OAuth, client_id = "{{clientId}}", client_secret = ${?IMAPACTORS_TEST_CLIENT_SECRET}
                auth_url = "{{_server.AuthUrl}}", token_url = "{{_server.TokenUrl}}", scopes = ["https://mail.example/imap"]
                folders = [{{string.Join(", ", folders.Select(f => $"\"{f}\""))}}]
                poll_interval = 2s, max_connections = 3
              }
            }
            """);
        var environment = new Dictionary<string, string>
        {
            ["IMAPACTORS_TEST_DB"] = storage.ConnectionString,
            ["IMAPACTORS_TEST_CLIENT_SECRET"] = clientSecret,
        };
        var ports = ClusterNodes.AppendClusterConfig(config, seeds: 3, minMembers: 3);
        using var nodes = new ClusterNodes(config, environment, _directory);
        for (var i = 0; i < ports.Count; i++)
        {
            nodes.Start(i, ports[i]);
        }

        await ClusterNodes.WaitForAsync(async () => (await ContainersAsync(storage)).Count >= total, TimeSpan.FromMinutes(2));
        var refreshesBefore = _server.Refreshes;
        var watch = Stopwatch.StartNew();

        // Every 3 s the server ends every connection of the user, so each mailbox logs in again on whichever node runs
        // it; every 9 s one more email arrives in each folder. A round may find no session open (all of them between
        // logins), and then ends none.
        for (var round = 0; watch.Elapsed < TimeSpan.FromSeconds(45); round++)
        {
            _dovecot.Kick(user.Name);
            if (round % 3 == 0)
            {
                foreach (var folder in folders)
                {
                    _dovecot.LoadMessages(user.Name, folder, [generator.Make(1000 + round)]);
                }

                total += folders.Length;
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
        }

        await ClusterNodes.WaitForAsync(async () => (await ContainersAsync(storage)).Count >= total, TimeSpan.FromMinutes(2));
        var elapsed = watch.Elapsed;
        var refreshes = _server.Refreshes - refreshesBefore;
        var containers = await ContainersAsync(storage);
        var byNode = containers.GroupBy(c => c.Node ?? "").ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{refreshes} refreshes in {elapsed.TotalSeconds:0} s (one per {RenewalPeriod.TotalSeconds} s expected); " +
            $"{_server.Introspections} logins checked; containers by node: {string.Join(", ", byNode.Select(kv => $"{kv.Key}: {kv.Value}"))}");

        Assert.True(byNode.Count >= 2, "the asset's folders all ran on one node: nothing was shared");
        Assert.Equal(total, containers.Count);
        Assert.Equal(total, containers.Select(c => (c.Folder, c.UidValidity, c.Uid)).Distinct().Count());

        // One refresh per expiry for the whole cluster (three nodes refreshing alone would make about three times as
        // many, and the second refresh with a rotated token would lose the grant).
        Assert.InRange(refreshes, 2, (int)Math.Ceiling(elapsed / RenewalPeriod) + 1);
        Assert.Equal(0, _server.RejectedIntrospections);
        foreach (var log in nodes.Logs)
        {
            Assert.DoesNotContain("revoked", File.ReadAllText(log), StringComparison.OrdinalIgnoreCase);
        }

        for (var i = 0; i < ports.Count; i++)
        {
            Assert.True(nodes.Terminate(i, TimeSpan.FromSeconds(40)), $"node {i + 1} did not exit 0 within 40 s");
        }
    }

    private static async Task<IReadOnlyList<ContainerSummary>> ContainersAsync(StorageSettings storage)
    {
        await using var store = ContainerStoreFactory.Create(storage);
        await store.InitializeAsync(CancellationToken.None);
        return await store.ListContainersAsync(null, CancellationToken.None);
    }
}
