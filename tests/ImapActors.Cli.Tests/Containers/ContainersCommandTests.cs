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
/// with the node of each container added since, and the filter and paging options select what they say.
/// </summary>
public sealed class ContainersCommandTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-containers-cli-").FullName;
    private readonly Dictionary<string, string> _environment = new() { ["CONTAINERS_TEST_PASSWORD"] = "unused" };
    private string _config = "";

    public async Task InitializeAsync()
    {
        var database = Path.Combine(_folder, "store.db");
        var vault = Path.Combine(_folder, "vault");
        await using (var store = ContainerStoreFactory.Create(new StorageSettings(StorageProvider.Sqlite, $"Data Source={database}"),
            new FixedTime(SoarJsonFixture.CreatedAt)))
        {
            await store.InitializeAsync(CancellationToken.None);
            await SoarJsonFixture.SeedAsync(store, new FileVault(vault));
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _config = Path.Combine(_folder, "imapactors.conf");
        await File.WriteAllTextAsync(_config, $$"""
            imapactors {
              storage { provider = sqlite, connection-string = "Data Source={{database}}" }
              vault { path = "{{vault}}" }
              assets {
                phish { server = "127.0.0.1", port = 993, use_ssl = true, username = "soc", password = ${?CONTAINERS_TEST_PASSWORD}, folder = "INBOX" }
              }
            }
            """);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

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

    private static string Expected(string name) =>
        Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(RepoPaths.Root, "tests", "ImapActors.Storage.Tests", "Expected", name)));
}
