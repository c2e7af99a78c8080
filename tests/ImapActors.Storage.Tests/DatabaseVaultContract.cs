using System.Diagnostics;
using System.Text;
using ImapActors.Domain;
using ImapActors.Storage;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Storage.Tests;

/// <summary>The behaviour of the vault in the store's database; one subclass per database runs it.</summary>
public abstract class DatabaseVaultContract(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-dbvault-").FullName;

    protected StorageSettings Settings { get; private set; } = null!;

    protected DatabaseVault Vault { get; private set; } = null!;

    protected string Folder => _folder;

    protected abstract StorageSettings CreateSettings();

    /// <summary>The rows of <c>vault_content</c>.</summary>
    protected abstract Task<long> CountRowsAsync();

    public async Task InitializeAsync()
    {
        Settings = CreateSettings();
        await using (var store = ContainerStoreFactory.Create(Settings))
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        Vault = DatabaseVault.Create(Settings);
    }

    public Task DisposeAsync()
    {
        Vault.Dispose();
        return Task.CompletedTask;
    }

    public virtual void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<int> Sizes() => [0, 15, 81_920, 300_000, 2_000_000];

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Content_gets_the_vault_file_a_file_vault_gives_it_and_reads_back_whole(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        var files = new FileVault(Path.Combine(_folder, "files"));
        var expected = files.Store(new MemoryStream(bytes), "a.bin");

        // A MemoryStream over an array without a visible buffer is streamed through the spool; one with a visible buffer is not.
        var streamed = Vault.Store(new MemoryStream(bytes), "a.bin");
        var buffered = Vault.Store(new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true), "a.bin");

        Assert.Equal(expected, streamed);
        Assert.Equal(expected, buffered);
        Assert.Equal(bytes, ReadAll(Vault.OpenRead(expected.VaultId)));
    }

    [Fact]
    public async Task The_same_bytes_stored_twice_are_one_row()
    {
        var bytes = Encoding.ASCII.GetBytes("attachment body");

        var first = Vault.Store(new MemoryStream(bytes), "a.txt");
        var second = Vault.Store(new NonSeekable(bytes), "b.txt");

        Assert.Equal(first with { FileName = "b.txt" }, second);
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public void A_buffered_stream_is_stored_from_its_position_and_read_to_its_end()
    {
        var bytes = Encoding.ASCII.GetBytes("skipped|stored part");
        var stream = new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true) { Position = 8 };

        var file = Vault.Store(stream, "part");

        Assert.Equal(new FileVault(Path.Combine(_folder, "files")).Store(new MemoryStream(bytes[8..]), "part"), file);
        Assert.Equal(bytes[8..], ReadAll(Vault.OpenRead(file.VaultId)));
        Assert.Equal(bytes.Length, stream.Position);
    }

    [Fact]
    public void An_id_the_vault_does_not_hold_opens_nothing() =>
        Assert.Null(Vault.OpenRead(new VaultId(new string('0', 40))));

    [Fact]
    public async Task Content_that_fails_while_read_stores_nothing()
    {
        var failing = new NonSeekable(new byte[200_000], failAfter: 100_000);

        Assert.Throws<IOException>(() => Vault.Store(failing, "broken"));

        Assert.Equal(0, await CountRowsAsync());
    }

    [Fact]
    public async Task Two_nodes_storing_the_same_new_bytes_at_once_all_succeed_with_one_row_each()
    {
        // Two vaults on one database are two nodes: each has its own connections, and neither knows the other stores.
        using var other = DatabaseVault.Create(Settings);
        var contents = Enumerable.Range(0, 6).Select(n => Encoding.ASCII.GetBytes(new string((char)('a' + n), 50_000 + n))).ToArray();
        var nodes = new[] { Vault, other, Vault, other };
        for (var round = 0; round < 5; round++)
        {
            using var start = new Barrier(nodes.Length);
            var stores = nodes.Select(vault => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return contents.Select(c => vault.Store(new NonSeekable(c), "same")).ToList();
            }, TaskCreationOptions.LongRunning)).ToArray();

            var stored = await Task.WhenAll(stores);

            Assert.All(stored, files => Assert.Equal(stored[0], files));
        }

        Assert.Equal(contents.Length, await CountRowsAsync());
        Assert.All(contents, c => Assert.Equal(c, ReadAll(other.OpenRead(VaultHashes.Of(c, "x").VaultId))));
    }

    [Fact]
    public void A_large_content_is_stored_and_read_back_without_holding_it_in_memory()
    {
        const long size = 64L * 1024 * 1024;
        var (file, storeAllocated, readAllocated, read) = StoreAndReadLarge(size);

        output.WriteLine($"{GetType().Name}: {size} bytes: store allocated {storeAllocated} bytes, read allocated {readAllocated} bytes");
        Assert.Equal(size, file.Size);
        Assert.Equal(size, read);
        Assert.True(storeAllocated < size / 8, $"storing {size} bytes allocated {storeAllocated}");
        Assert.True(readAllocated < size / 8, $"reading {size} bytes allocated {readAllocated}");
    }

    /// <summary>
    /// The largest size measured for the README: peak working set of the test process around storing and reading one file
    /// (run alone: <c>IMAPACTORS_SOAK=1 bash scripts/test.sh --filter FullyQualifiedName~Vault_peak</c>).
    /// </summary>
    [SoakFact]
    public void Vault_peak_memory_of_a_512_MiB_file()
    {
        const long size = 512L * 1024 * 1024;
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var before = process.WorkingSet64;
        var (file, storeAllocated, readAllocated, read) = StoreAndReadLarge(size);
        process.Refresh();

        output.WriteLine($"{GetType().Name}: {size} bytes: working set before {before >> 20} MiB, peak {process.PeakWorkingSet64 >> 20} MiB; "
            + $"store allocated {storeAllocated >> 10} KiB, read allocated {readAllocated >> 10} KiB");
        Assert.Equal((size, size), (file.Size, read));
    }

    private (VaultFile File, long StoreAllocated, long ReadAllocated, long Read) StoreAndReadLarge(long size)
    {
        var content = new Generated(size);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var file = Vault.Store(content, "large.bin");
        var storeAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Equal(content.Hashes, file with { FileName = "large.bin" });

        allocated = GC.GetAllocatedBytesForCurrentThread();
        long read = 0;
        using var check = new VaultHashes();
        using (var stream = Vault.OpenRead(file.VaultId)!)
        {
            var buffer = new byte[81920];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                check.Append(buffer.AsSpan(0, n));
                read += n;
            }
        }

        var readAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Equal(file, check.Finish("large.bin"));
        return (file, storeAllocated, readAllocated, read);
    }

    private static byte[] ReadAll(Stream? stream)
    {
        Assert.NotNull(stream);
        using (stream)
        {
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return memory.ToArray();
        }
    }

    /// <summary>Bytes from a stream that cannot seek (as a decoded attachment), optionally failing part-way.</summary>
    private sealed class NonSeekable(byte[] bytes, int failAfter = int.MaxValue) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter)
            {
                throw new IOException("the content broke off");
            }

            var n = Math.Min(count, Math.Min(bytes.Length, failAfter) - _position);
            Array.Copy(bytes, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary><paramref name="size"/> pseudo-random bytes made as they are read, and the vault file they make.</summary>
    private sealed class Generated(long size) : Stream
    {
        private readonly Random _random = new(5);
        private readonly VaultHashes _hashes = new();
        private long _position;

        public VaultFile? Hashes { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, size - _position);
            var chunk = buffer.AsSpan(offset, n);
            _random.NextBytes(chunk);
            _hashes.Append(chunk);
            _position += n;
            if (n == 0)
            {
                Hashes ??= _hashes.Finish("large.bin");
            }

            return n;
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
                _hashes.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

public sealed class SqliteDatabaseVaultTests(ITestOutputHelper output) : DatabaseVaultContract(output)
{
    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.Sqlite, $"Data Source={Path.Combine(Folder, "store.db")}");

    protected override async Task<long> CountRowsAsync()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM vault_content";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        base.Dispose();
    }
}

public sealed class PostgresDatabaseVaultTests(ITestOutputHelper output) : DatabaseVaultContract(output)
{
    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.PostgreSql, PostgresServices.CreateDatabase("vault"));

    protected override async Task<long> CountRowsAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM vault_content", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
