using System.Buffers;
using System.Data;
using System.Data.Common;
using ImapActors.Domain;
using ImapActors.Storage.Sql;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ImapActors.Storage;

/// <summary>
/// A vault in the store's database, tables <c>vault_content</c> and <c>vault_chunks</c> (the store's
/// <see cref="IContainerStore.InitializeAsync"/> makes them): every node on one PostgreSQL reads every file without a
/// shared folder. Files get the ids and hashes a <see cref="FileVault"/> gives the same bytes. A content is spooled to a
/// temporary file while it is hashed (its id is its SHA-1, known only at the end), then written in chunks of
/// <see cref="ChunkBytes"/> and read back chunk by chunk, so memory stays bounded whatever the size. The same statements
/// serve PostgreSQL and SQLite, but for the <c>rowid</c> SQLite needs to read a chunk in place.
/// </summary>
public sealed class DatabaseVault : IVault, IDisposable
{
    /// <summary>The largest piece of a content in one row of <c>vault_chunks</c>.</summary>
    public const int ChunkBytes = 1024 * 1024;

    private const int CopyBytes = 81920;

    // A node that finds another node's insert of the same content in progress waits for it to commit; that may take as
    // long as the other node's upload of the largest file.
    private const int ConflictWaitSeconds = 600;

    private const string InsertContentSql = """
        INSERT INTO vault_content (vault_id, sha256, md5, size, created_at) VALUES (@id, @sha256, @md5, @size, @created_at)
        ON CONFLICT (vault_id) DO NOTHING
        RETURNING vault_id
        """;

    private const string ReadChunksSql = "SELECT content FROM vault_chunks WHERE vault_id = @id ORDER BY ordinal";

    // With the rowid in the result, Microsoft.Data.Sqlite reads a blob in place (SqliteBlob) instead of copying it.
    private const string SqliteReadChunksSql = "SELECT content, rowid FROM vault_chunks WHERE vault_id = @id ORDER BY ordinal";

    private const string InsertChunkSql = "INSERT INTO vault_chunks (vault_id, ordinal, content) VALUES (@id, @ordinal, @content)";

    private readonly Func<DbConnection> _open;
    private readonly Func<DbConnection, DbTransaction> _beginWrite;
    private readonly IDisposable? _owned;
    private readonly TimeProvider _time;
    private readonly string _spool;
    private readonly string _location;
    private readonly string _readChunks;

    private DatabaseVault(Func<DbConnection> open, Func<DbConnection, DbTransaction> beginWrite, string readChunks, IDisposable? owned,
        TimeProvider? time, string location)
    {
        _open = open;
        _readChunks = readChunks;
        _beginWrite = beginWrite;
        _owned = owned;
        _time = time ?? TimeProvider.System;
        _location = location;
        _spool = Path.Combine(Path.GetTempPath(), "imapactors-vault");
    }

    /// <summary>The vault in the database of <paramref name="settings"/>; its store must be initialized before the vault is used.</summary>
    public static DatabaseVault Create(StorageSettings settings, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        switch (settings.Provider)
        {
            case StorageProvider.PostgreSql:
                var dataSource = NpgsqlDataSource.Create(settings.ConnectionString);
                return new DatabaseVault(dataSource.OpenConnection, c => c.BeginTransaction(IsolationLevel.ReadCommitted), ReadChunksSql,
                    dataSource, time,
                    "the vault_content table of the PostgreSQL store");
            case StorageProvider.Sqlite:
                var builder = new SqliteConnectionStringBuilder(settings.ConnectionString);

                // Also SQLite's busy timeout: an insert queues behind a commit holding the file's write lock, as commits do.
                builder.DefaultTimeout = Math.Max(builder.DefaultTimeout, 30);
                var connectionString = builder.ConnectionString;
                return new DatabaseVault(() => OpenSqlite(connectionString),
                    // deferred: false is BEGIN IMMEDIATE: the write lock up front, never an upgrade that fails.
                    c => ((SqliteConnection)c).BeginTransaction(deferred: false), SqliteReadChunksSql, null, time,
                    $"the vault_content table of the SQLite store {builder.DataSource}");
            default:
                throw new ArgumentOutOfRangeException(nameof(settings), settings.Provider, "unknown storage provider");
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Content the vault already holds is not sent again. Two nodes storing the same new bytes at once both succeed: the
    /// second one's insert waits for the first one's, then does nothing.
    /// </remarks>
    public VaultFile Store(Stream content, string fileName)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content is MemoryStream memory && memory.TryGetBuffer(out var buffered))
        {
            var start = (int)memory.Position;
            var file = VaultHashes.Of(buffered.AsSpan(start), fileName);
            memory.Seek(0, SeekOrigin.End);
            using var view = new MemoryStream(buffered.Array!, buffered.Offset + start, buffered.Count - start, writable: false);
            Insert(file, view);
            return file;
        }

        using var spool = OpenSpool();
        using var hashes = new VaultHashes();
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBytes);
        try
        {
            int read;
            while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
            {
                hashes.Append(buffer.AsSpan(0, read));
                spool.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var stored = hashes.Finish(fileName);
        spool.Position = 0;
        Insert(stored, spool);
        return stored;
    }

    /// <inheritdoc />
    /// <remarks>The stream reads the chunks as it goes and holds a connection until it is disposed.</remarks>
    public Stream? OpenRead(VaultId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var connection = _open();
        DbCommand? command = null;
        DbDataReader? reader = null;
        try
        {
            using (var exists = SqlCommands.Command(connection, null, "SELECT 1 FROM vault_content WHERE vault_id = @id", ("id", id.Value)))
            {
                if (exists.ExecuteScalar() is null)
                {
                    connection.Dispose();
                    return null;
                }
            }

            command = SqlCommands.Command(connection, null, _readChunks, ("id", id.Value));
            reader = command.ExecuteReader(CommandBehavior.SequentialAccess);
            return new ChunkStream(reader, command, connection);
        }
        catch
        {
            reader?.Dispose();
            command?.Dispose();
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string Location => _location;

    /// <inheritdoc />
    public string Describe(VaultId id) => _location;

    /// <summary>Inserts the content row and its chunks in one transaction, unless a row of its id exists (or is being written).</summary>
    private void Insert(VaultFile file, Stream content)
    {
        using var connection = _open();
        using var transaction = _beginWrite(connection);
        using (var row = SqlCommands.Command(connection, transaction, InsertContentSql, ("id", file.VaultId.Value), ("sha256", file.Sha256),
            ("md5", file.Md5), ("size", file.Size), ("created_at", _time.GetUtcNow())))
        {
            row.CommandTimeout = ConflictWaitSeconds;
            if (row.ExecuteScalar() is null)
            {
                // Held already: nothing of this content is sent.
                return;
            }
        }

        var buffer = new byte[(int)Math.Min(ChunkBytes, Math.Max(file.Size, 1))];
        using var chunk = SqlCommands.Command(connection, transaction, InsertChunkSql, ("id", file.VaultId.Value), ("ordinal", 0),
            ("content", buffer));
        var (ordinal, data) = (chunk.Parameters["@ordinal"], chunk.Parameters["@content"]);
        for (var n = 0; ; n++)
        {
            var filled = Fill(content, buffer);
            if (filled == 0)
            {
                break;
            }

            ordinal.Value = n;

            // Size sends the filled part of the one buffer every chunk reuses.
            data.Size = filled;
            chunk.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private static int Fill(Stream content, byte[] buffer)
    {
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = content.Read(buffer, filled, buffer.Length - filled)) > 0)
        {
            filled += read;
        }

        return filled;
    }

    /// <summary>A temporary file that deletes itself when closed.</summary>
    private FileStream OpenSpool()
    {
        Directory.CreateDirectory(_spool);
        return new FileStream(Path.Combine(_spool, Guid.NewGuid().ToString("N")), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None,
            CopyBytes, FileOptions.DeleteOnClose | FileOptions.SequentialScan);
    }

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

    public void Dispose() => _owned?.Dispose();

    /// <summary>The chunks of one content, read row by row as the caller reads; disposes the reader, its command and its connection.</summary>
    private sealed class ChunkStream(DbDataReader reader, DbCommand command, DbConnection connection) : Stream
    {
        private Stream? _chunk;
        private bool _done;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            while (!_done && buffer.Length > 0)
            {
                if (_chunk is null)
                {
                    if (!reader.Read())
                    {
                        _done = true;
                        break;
                    }

                    _chunk = reader.GetStream(0);
                }

                var read = _chunk.Read(buffer);
                if (read > 0)
                {
                    return read;
                }

                _chunk.Dispose();
                _chunk = null;
            }

            return 0;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _chunk?.Dispose();
                reader.Dispose();
                command.Dispose();
                connection.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
