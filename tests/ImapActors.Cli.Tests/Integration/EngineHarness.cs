using System.Security.Cryptography;
using System.Text;
using ImapActors.Actors.Ingestion;
using ImapActors.Domain;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Storage;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>Which store an integration test runs on.</summary>
public enum Store
{
    Sqlite,
    PostgreSql,
}

/// <summary>Settings and helpers for running the real engine against the real Dovecot in a test.</summary>
internal sealed class EngineHarness : IDisposable
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("imapactors-it-").FullName;

    public EngineHarness(Store store, IReadOnlyList<AssetSettings> assets, int fetchBatchSize = 50, VaultStore vault = VaultStore.File)
    {
        var storage = store == Store.Sqlite
            ? new StorageSettings(StorageProvider.Sqlite, $"Data Source={Path.Combine(_dir, "imapactors.db")}")
            : new StorageSettings(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("it"));
        Settings = new EngineSettings
        {
            Storage = storage,
            VaultPath = Path.Combine(_dir, "vault"),
            Vault = new VaultSettings { Store = vault },
            Assets = assets,
            FetchBatchSize = fetchBatchSize,
        };
    }

    public EngineSettings Settings { get; set; }

    public string Directory => _dir;

    public Task<IngestionEngine> StartAsync(bool once, Func<IVault, ImapActors.Actors.Pipeline.IEmailProcessing>? processing = null) =>
        IngestionEngine.StartAsync(Settings, new EngineOptions { Polling = once ? PollingMode.Once : PollingMode.Scheduled, Processing = processing },
            CancellationToken.None);

    /// <summary>Runs "get email" on a host of its own that polls nothing, as the CLI verb does.</summary>
    public async Task<GetEmailResult> GetEmailAsync(AssetSettings asset, GetEmailRequest request)
    {
        await using var engine = await IngestionEngine.StartAsync(Settings, new EngineOptions(), CancellationToken.None);
        return await engine.GetEmail.RunAsync(asset, request, null, CancellationToken.None);
    }

    /// <summary>Runs the engine once until every mailbox is caught up and returns the summaries.</summary>
    public async Task<List<MailboxStatus>> RunOnceAsync(TimeSpan timeout, Func<IVault, ImapActors.Actors.Pipeline.IEmailProcessing>? processing = null)
    {
        await using var engine = await StartAsync(once: true, processing);
        using var cts = new CancellationTokenSource(timeout);
        var statuses = await engine.WhenCaughtUpAsync(cts.Token);
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        return statuses;
    }

    public async Task<IReadOnlyList<ContainerSummary>> ContainersAsync()
    {
        await using var store = ContainerStoreFactory.Create(Settings.Storage);
        await store.InitializeAsync(CancellationToken.None);
        return await store.ListContainersAsync(null, CancellationToken.None);
    }

    /// <summary>
    /// How many containers the store holds: one count query, cheap enough to poll every 100 ms while nodes ingest at
    /// thousands of emails a second (listing them all takes long enough for thousands more to commit). The store's
    /// tables are made by the first node that starts; until then the count is 0. With <paramref name="node"/>
    /// (host:port, as containers record it), only that node's.
    /// </summary>
    public async Task<long> ContainerCountAsync(string? node = null)
    {
        try
        {
            if (node is null)
            {
                await using var store = ContainerStoreFactory.Create(Settings.Storage);
                return await store.CountContainersAsync(null, CancellationToken.None);
            }

            // The containers one node committed (the store records each container's node; cluster mode is PostgreSQL).
            await using var connection = new Npgsql.NpgsqlConnection(Settings.Storage.ConnectionString);
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM containers WHERE node = @node", connection);
            command.Parameters.AddWithValue("node", node);
            return Convert.ToInt64(await command.ExecuteScalarAsync());
        }
        catch (System.Data.Common.DbException e) when (e.SqlState == "42P01" || e.Message.Contains("no such table", StringComparison.Ordinal))
        {
            return 0;
        }
    }

    /// <summary>The vault of <see cref="Settings"/>, opened on its own, as another node (or a CLI verb) would open it.</summary>
    public IVault OpenVault() => VaultFactory.Create(Settings);

    public static string FolderHash(string folder) =>
        Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(folder)));

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a finishing process: the temp folder is cleaned by the OS.
        }
    }
}
