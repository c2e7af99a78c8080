using System.Text;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Storage;
using ImapActors.Storage.Tests;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.Containers;

/// <summary>
/// <c>imapactors containers list|show</c> over the store of <see cref="SoarJsonFixture"/>: the output is byte for byte
/// what the command printed before its rendering moved into the storage library (tests/ImapActors.Storage.Tests/Expected),
/// with the node of each container added since, and the filter and paging options select what they say, whichever store
/// and vault hold the containers.
/// </summary>
public abstract class ContainersCommandContract : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-containers-cli-").FullName;
    private readonly Dictionary<string, string> _environment = new() { ["CONTAINERS_TEST_PASSWORD"] = "unused" };
    private string _config = "";

    protected string Folder => _folder;

    /// <summary>The store the fixture is seeded into.</summary>
    protected abstract StorageSettings CreateStorage();

    /// <summary>The vault's section of the configuration.</summary>
    protected abstract VaultSettings Vault { get; }

    public async Task InitializeAsync()
    {
        var storage = CreateStorage();
        var vault = Path.Combine(_folder, "vault");
        var settings = new EngineSettings { Storage = storage, VaultPath = vault, Vault = Vault, Assets = [] };
        await using (var store = ContainerStoreFactory.Create(storage, new FixedTime(SoarJsonFixture.CreatedAt)))
        {
            await store.InitializeAsync(CancellationToken.None);
            var files = VaultFactory.Create(settings);
            using (files as IDisposable)
            {
                await SoarJsonFixture.SeedAsync(store, files);
            }
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _environment["CONTAINERS_TEST_DB"] = storage.ConnectionString;
        var provider = storage.Provider == StorageProvider.Sqlite ? "sqlite" : "postgresql";
        var vaultStore = Vault.Store == VaultStore.Database ? "database" : "file";
        _config = Path.Combine(_folder, "imapactors.conf");
        await File.WriteAllTextAsync(_config, $$"""
            imapactors {
              storage { provider = {{provider}}, connection-string = ${?CONTAINERS_TEST_DB} }
              vault { store = {{vaultStore}}, path = "{{vault}}" }
              assets {
                phish { server = "127.0.0.1", port = 993, use_ssl = true, username = "soc", password = ${?CONTAINERS_TEST_PASSWORD}, folder = "INBOX" }
              }
            }
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Directory.Delete(_folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task List_show_and_brief_print_what_they_printed_before()
    {
        Assert.Equal(Expected("list.txt"), await RunAsync("containers", "list", "--config", _config));
        Assert.Equal(Expected("list.jsonl"), await RunAsync("containers", "list", "--config", _config, "--format", "json"));
        Assert.Equal(Expected("list.jsonl"), await RunAsync("containers", "list", "--config", _config, "--asset", "phish", "--format", "json"));
        Assert.Equal(Expected("show-1.json"), await RunAsync("containers", "show", "--config", _config, "1"));
        Assert.Equal(Expected("show-1-brief.json"), await RunAsync("containers", "show", "--config", _config, "--brief", "1"));
        Assert.Equal(Expected("show-3.json"), await RunAsync("containers", "show", "--config", _config, "3"));
    }

    [Fact]
    public async Task List_filters_by_folder_and_label_and_pages_by_after_id_and_limit()
    {
        var first = await CliProcess.RunAsync(_environment, Timeout,
            "containers", "list", "--config", _config, "--folder", "INBOX", "--limit", "2", "--format", "json");
        Assert.Equal(0, first.Exit);
        Assert.Equal([1L, 2L], Ids(first.Out));
        Assert.Equal("More containers follow: --after-id 2", first.Err.Trim());

        var last = await CliProcess.RunAsync(_environment, Timeout,
            "containers", "list", "--config", _config, "--folder", "INBOX", "--after-id", "2", "--limit", "2", "--format", "json");
        Assert.Equal([4L, 5L], Ids(last.Out));
        Assert.Equal("", last.Err);

        Assert.Equal([3L], Ids(await RunAsync("containers", "list", "--config", _config, "--label", "phishing", "--format", "json")));
        var table = await RunAsync("containers", "list", "--config", _config, "--label", "imap", "--after-id", "3");
        Assert.EndsWith("\n2 containers\n", table, StringComparison.Ordinal);
        Assert.Contains("\n4   phish", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_limit_below_one_is_a_usage_error()
    {
        var result = await CliProcess.RunAsync(_environment, Timeout, "containers", "list", "--config", _config, "--limit", "0");

        Assert.NotEqual(0, result.Exit);
        Assert.Contains("--limit must be at least 1.", result.Err, StringComparison.Ordinal);
    }

    private async Task<string> RunAsync(params string[] args)
    {
        var (exit, output, error) = await CliProcess.RunAsync(_environment, Timeout, args);
        Assert.True(exit == 0, $"imapactors {string.Join(' ', args)} exited {exit}: {error}");
        return output;
    }

    private static List<long> Ids(string jsonLines) =>
        [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt64())];

    private string Expected(string name) =>
        AsStored(Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(RepoPaths.Root, "tests", "ImapActors.Storage.Tests", "Expected", name))));

    /// <summary>The expected output as this store keeps the fixture's values.</summary>
    protected virtual string AsStored(string expected) => expected;
}

/// <summary>The store and vault of one node: SQLite and a folder.</summary>
public sealed class ContainersCommandTests : ContainersCommandContract
{
    protected override VaultSettings Vault => new();

    protected override StorageSettings CreateStorage() => new(StorageProvider.Sqlite, $"Data Source={Path.Combine(Folder, "store.db")}");
}

/// <summary>The store and vault of a cluster: PostgreSQL holding the vault files too; the folder stays empty.</summary>
public sealed class ContainersCommandOnPostgresDatabaseVaultTests : ContainersCommandContract
{
    protected override VaultSettings Vault => new() { Store = VaultStore.Database };

    protected override StorageSettings CreateStorage() => new(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("containers"));

    /// <summary>PostgreSQL keeps instants to the microsecond; the fixture's creation time has seven decimals.</summary>
    protected override string AsStored(string expected) => expected.Replace("07.1234567+", "07.123456+", StringComparison.Ordinal);

    [Fact]
    public void The_vault_folder_holds_nothing() => Assert.False(Directory.Exists(Path.Combine(Folder, "vault")));
}
