using System.Data;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Storage.Sql;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ImapActors.Storage;

/// <summary>
/// The OAuth tokens of each asset in table <c>oauth_tokens</c> of the store's database, one row per asset, sealed as a
/// token file is (<see cref="TokenSealing"/>). Every node on one PostgreSQL reads the tokens another node stored, and
/// <see cref="UpdateAsync"/> holds a transaction-scoped advisory lock of the asset (on SQLite, the file's write lock),
/// so one node at a time refreshes an asset's grant whatever the number of nodes. The table is made on first use, as
/// the container store makes its tables.
/// </summary>
public sealed class DatabaseTokenStore : ITokenStore, IDisposable
{
    private const string LoadSql = "SELECT sealed FROM oauth_tokens WHERE asset = @asset";

    private const string SaveSql = """
        INSERT INTO oauth_tokens (asset, sealed, updated_at) VALUES (@asset, @sealed, @updated_at)
        ON CONFLICT (asset) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at
        """;

    private readonly StorageSettings _settings;
    private readonly byte[] _key;
    private readonly Func<DbConnection> _open;
    private readonly Func<DbConnection, AssetName, DbTransaction> _beginLocked;
    private readonly IDisposable? _owned;
    private readonly string _location;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _initialize = new(1, 1);
    private volatile bool _initialized;

    private DatabaseTokenStore(StorageSettings settings, byte[] key, Func<DbConnection> open,
        Func<DbConnection, AssetName, DbTransaction> beginLocked, IDisposable? owned, string location, TimeProvider? time)
    {
        _settings = settings;
        _key = key;
        _open = open;
        _beginLocked = beginLocked;
        _owned = owned;
        _location = location;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The token store in the database of <paramref name="settings"/>, sealed under the 32-byte key <paramref name="keyBase64"/> holds.</summary>
    /// <exception cref="OAuthException">The key is missing, not base64, or not 32 bytes.</exception>
    public static DatabaseTokenStore Create(StorageSettings settings, Secret? keyBase64, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var key = TokenSealing.KeyFrom(keyBase64);
        switch (settings.Provider)
        {
            case StorageProvider.PostgreSql:
                var dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
                return new DatabaseTokenStore(settings, key, dataSource.OpenConnection, BeginPostgreSqlLocked, dataSource,
                    "the oauth_tokens table of the PostgreSQL store", time);
            case StorageProvider.Sqlite:
                var builder = new SqliteConnectionStringBuilder(settings.ConnectionString);
                builder.DefaultTimeout = Math.Max(builder.DefaultTimeout, 30);
                var connectionString = builder.ConnectionString;
                return new DatabaseTokenStore(settings, key, () => OpenSqlite(connectionString),
                    // deferred: false is BEGIN IMMEDIATE: the file's write lock for the whole update.
                    (c, _) => ((SqliteConnection)c).BeginTransaction(deferred: false), null,
                    $"the oauth_tokens table of the SQLite store {builder.DataSource}", time);
            default:
                throw new ArgumentOutOfRangeException(nameof(settings), settings.Provider, "unknown storage provider");
        }
    }

    /// <inheritdoc />
    public string Describe(AssetName asset) => $"the tokens of asset '{asset}' in {_location}";

    /// <inheritdoc />
    public StoredTokens? Load(AssetName asset)
    {
        ArgumentNullException.ThrowIfNull(asset);
        using var connection = Open(asset);
        return Read(connection, null, asset);
    }

    /// <inheritdoc />
    public void Save(AssetName asset, StoredTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(tokens);
        using var connection = Open(asset);
        Write(connection, null, asset, tokens);
    }

    /// <inheritdoc />
    public async Task UpdateAsync(AssetName asset, Func<StoredTokens?, CancellationToken, Task<StoredTokens?>> update,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentNullException.ThrowIfNull(update);
        await using var connection = Open(asset);
        DbTransaction transaction;
        try
        {
            transaction = _beginLocked(connection, asset);
        }
        catch (DbException e)
        {
            throw Unusable(asset, e);
        }

        await using (transaction.ConfigureAwait(false))
        {
            if (await update(Read(connection, transaction, asset), cancellationToken).ConfigureAwait(false) is { } tokens)
            {
                Write(connection, transaction, asset, tokens);
            }

            try
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DbException e)
            {
                throw Unusable(asset, e);
            }
        }
    }

    private StoredTokens? Read(DbConnection connection, DbTransaction? transaction, AssetName asset)
    {
        try
        {
            using var command = SqlCommands.Command(connection, transaction, LoadSql, ("asset", asset.Value));
            return command.ExecuteScalar() is byte[] data ? TokenSealing.Open(_key, asset, data, Describe(asset)) : null;
        }
        catch (DbException e)
        {
            throw Unusable(asset, e);
        }
    }

    private void Write(DbConnection connection, DbTransaction? transaction, AssetName asset, StoredTokens tokens)
    {
        try
        {
            using var command = SqlCommands.Command(connection, transaction, SaveSql, ("asset", asset.Value),
                ("sealed", TokenSealing.Seal(_key, asset, tokens)), ("updated_at", _time.GetUtcNow()));
            command.ExecuteNonQuery();
        }
        catch (DbException e)
        {
            throw Unusable(asset, e);
        }
    }

    private DbConnection Open(AssetName asset)
    {
        try
        {
            EnsureTable();
            return _open();
        }
        catch (DbException e)
        {
            throw Unusable(asset, e);
        }
    }

    // `oauth authorize` may be the first to use a new database: the container store makes every table, this one with them.
    private void EnsureTable()
    {
        if (_initialized)
        {
            return;
        }

        _initialize.Wait();
        try
        {
            if (!_initialized)
            {
                var store = ContainerStoreFactory.Create(_settings);
                try
                {
                    store.InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
                }
                finally
                {
                    store.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }

                _initialized = true;
            }
        }
        finally
        {
            _initialize.Release();
        }
    }

    private OAuthException Unusable(AssetName asset, DbException e) =>
        new($"{Describe(asset)} cannot be used: {e.Message}", e);

    private static DbTransaction BeginPostgreSqlLocked(DbConnection connection, AssetName asset)
    {
        var transaction = connection.BeginTransaction(IsolationLevel.ReadCommitted);
        try
        {
            using var command = SqlCommands.Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key)", ("key", LockKey(asset)));
            command.ExecuteNonQuery();
            return transaction;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    /// <summary>The advisory lock of an asset's tokens: a hash of its name, apart from the keys the container store locks.</summary>
    private static long LockKey(AssetName asset) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("imapactors.oauth_tokens:" + asset.Value)));

    private static SqliteConnection OpenSqlite(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _owned?.Dispose();
        _initialize.Dispose();
    }
}
