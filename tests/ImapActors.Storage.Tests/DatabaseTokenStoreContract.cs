using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Storage;
using ImapActors.Testing;

namespace ImapActors.Storage.Tests;

/// <summary>The OAuth token store in the store's database; one subclass per database runs it.</summary>
public abstract class DatabaseTokenStoreContract : IDisposable
{
    private const string Refresh = "rt-0123456789abcdef-refresh-secret";
    private readonly Secret _key = new(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
    private readonly List<DatabaseTokenStore> _stores = [];

    protected string Folder { get; } = Directory.CreateTempSubdirectory("imapactors-dbtokens-").FullName;

    protected StorageSettings Settings { get; private set; } = null!;

    protected abstract StorageSettings CreateSettings();

    /// <summary>The sealed bytes of every row of <c>oauth_tokens</c>.</summary>
    protected abstract Task<List<byte[]>> RowsAsync();

    private DatabaseTokenStore Store(Secret? key = null)
    {
        Settings ??= CreateSettings();
        var store = DatabaseTokenStore.Create(Settings, key ?? _key);
        _stores.Add(store);
        return store;
    }

    [Fact]
    public async Task Saved_tokens_load_back_in_another_store_on_the_same_database_and_no_row_holds_a_token_in_plain_text()
    {
        var expires = DateTimeOffset.UtcNow.AddMinutes(5);
        Store().Save(new AssetName("phish"), new StoredTokens("cid", Refresh, "at-secret-access", expires, expires.AddMinutes(-60)));

        var loaded = Store().Load(new AssetName("phish"))!;
        Assert.Equal(("cid", Refresh, "at-secret-access", expires), (loaded.ClientId, loaded.RefreshToken, loaded.AccessToken, loaded.AccessTokenExpires));
        Assert.Null(Store().Load(new AssetName("never")));

        var row = Assert.Single(await RowsAsync());
        Assert.True(row.AsSpan().IndexOf(Encoding.UTF8.GetBytes(Refresh)) < 0, "a refresh token is readable in oauth_tokens");
    }

    [Fact]
    public void Tokens_do_not_load_under_another_key()
    {
        Store().Save(new AssetName("a"), new StoredTokens("cid", Refresh, null, null));
        var other = Store(new Secret(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
        var e = Assert.Throws<OAuthException>(() => other.Load(new AssetName("a")));
        Assert.Contains("does not decrypt", e.Message, StringComparison.Ordinal);
        Assert.Contains("oauth_tokens", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Updates_of_one_asset_from_several_stores_run_one_at_a_time_and_each_reads_what_the_last_stored()
    {
        var asset = new AssetName("counted");
        Store().Save(asset, new StoredTokens("cid", "0", null, null));
        var inside = 0;
        var overlapped = false;

        // Eight "nodes" each add one to the number held in the refresh token, slowly; any overlap loses an addition.
        var nodes = Enumerable.Range(0, 8).Select(_ => Store()).ToList();
        await Task.WhenAll(nodes.Select(store => Task.Run(() => store.UpdateAsync(asset, async (current, ct) =>
        {
            overlapped |= Interlocked.Increment(ref inside) > 1;
            await Task.Delay(50, ct);
            Interlocked.Decrement(ref inside);
            return current! with { RefreshToken = (int.Parse(current.RefreshToken!, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }, CancellationToken.None))));

        Assert.False(overlapped, "two updates of one asset ran at once");
        Assert.Equal("8", Store().Load(asset)!.RefreshToken);
    }

    [Fact]
    public async Task An_update_that_returns_nothing_stores_nothing_and_a_failing_one_keeps_the_old_tokens()
    {
        var asset = new AssetName("kept");
        var store = Store();
        store.Save(asset, new StoredTokens("cid", Refresh, null, null));

        await store.UpdateAsync(asset, (_, _) => Task.FromResult<StoredTokens?>(null), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateAsync(asset, (_, _) => throw new InvalidOperationException("refused"),
            CancellationToken.None));

        Assert.Equal(Refresh, store.Load(asset)!.RefreshToken);
        await store.UpdateAsync(asset, (current, _) => Task.FromResult<StoredTokens?>(current! with { RefreshToken = "rotated" }), CancellationToken.None);
        Assert.Equal("rotated", Store().Load(asset)!.RefreshToken);
    }

    public virtual void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        Directory.Delete(Folder, recursive: true);
    }
}

public sealed class SqliteDatabaseTokenStoreTests : DatabaseTokenStoreContract
{
    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.Sqlite, $"Data Source={Path.Combine(Folder, "store.db")}");

    protected override async Task<List<byte[]>> RowsAsync()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sealed FROM oauth_tokens";
        return await ReadAsync(command);
    }

    public override void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        base.Dispose();
    }

    internal static async Task<List<byte[]>> ReadAsync(System.Data.Common.DbCommand command)
    {
        var rows = new List<byte[]>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((byte[])reader[0]);
        }

        return rows;
    }
}

public sealed class PostgresDatabaseTokenStoreTests : DatabaseTokenStoreContract
{
    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("tokens"));

    protected override async Task<List<byte[]>> RowsAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT sealed FROM oauth_tokens", connection);
        return await SqliteDatabaseTokenStoreTests.ReadAsync(command);
    }
}
