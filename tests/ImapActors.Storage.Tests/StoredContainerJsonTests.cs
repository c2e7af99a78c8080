using System.Text;
using ImapActors.Domain;
using ImapActors.Testing;

namespace ImapActors.Storage.Tests;

/// <summary>
/// The renderer writes the bytes <c>imapactors containers show</c> and <c>containers list --format json</c> printed
/// before it existed: <c>Expected/</c> holds that output for <see cref="SoarJsonFixture"/>, made by the CLI of the
/// commit before the rendering moved (each line ends as <c>Console.WriteLine</c> ended it on Linux), with the <c>node</c>
/// key and column added since.
/// </summary>
public sealed class StoredContainerJsonTests : IAsyncLifetime, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-soar-json-").FullName;
    private IContainerStore _store = null!;
    private FileVault _vault = null!;
    private IReadOnlyList<long> _ids = [];

    public async Task InitializeAsync()
    {
        _store = ContainerStoreFactory.Create(new StorageSettings(StorageProvider.Sqlite, $"Data Source={Path.Combine(_folder, "store.db")}"),
            new FixedTime(SoarJsonFixture.CreatedAt));
        await _store.InitializeAsync(CancellationToken.None);
        _vault = new FileVault(Path.Combine(_folder, "vault"));
        _ids = [.. (await SoarJsonFixture.SeedAsync(_store, _vault)).Select(r => r.ContainerId)];
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    [InlineData(5, true)]
    public async Task A_container_renders_as_containers_show_printed_it(int number, bool brief)
    {
        var container = await _store.GetContainerAsync(_ids[number - 1], CancellationToken.None);

        var printed = StoredContainerJson.ToIndentedJson(container!, _vault, brief) + "\n";

        Assert.Equal(Expected(brief ? $"show-{number}-brief.json" : $"show-{number}.json"), printed);
    }

    [Fact]
    public async Task The_container_list_renders_as_containers_list_format_json_printed_it()
    {
        var rows = await _store.ListContainersAsync(null, CancellationToken.None);

        var printed = string.Concat(rows.Select(r => StoredContainerJson.ToJsonLine(r) + "\n"));

        Assert.Equal(Expected("list.jsonl"), printed);
    }

    [Fact]
    public void A_raw_email_missing_from_the_vault_reads_as_null()
    {
        Assert.Null(StoredContainerJson.ReadRawEmail(_vault, new VaultId(new string('0', 40))));
    }

    private static string Expected(string name) =>
        Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(RepoPaths.Root, "tests", "ImapActors.Storage.Tests", "Expected", name)));
}
