using System.Security.Cryptography;
using System.Text;

namespace ImapActors.Domain.Tests;

public sealed class FileVaultTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "imapactors-vault-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Content_is_stored_once_under_its_sha1_with_its_other_digests()
    {
        var vault = new FileVault(_root);
        var bytes = Encoding.ASCII.GetBytes("attachment body");

        var first = vault.Store(new MemoryStream(bytes), "a.txt");
        var second = vault.Store(new MemoryStream(bytes), "b.txt");

        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(bytes)), first.VaultId.Value);
        Assert.Equal(first.VaultId, second.VaultId);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), first.Sha256);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(bytes)), first.Md5);
        Assert.Equal(bytes.Length, first.Size);
        Assert.Equal(bytes, File.ReadAllBytes(vault.PathOf(first.VaultId)));
        Assert.Single(Directory.GetFiles(_root, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Folders_removed_while_the_vault_runs_are_made_again()
    {
        var vault = new FileVault(_root);
        var one = vault.Store(new MemoryStream([1, 2, 3]), "one");
        Directory.Delete(Path.GetDirectoryName(vault.PathOf(one.VaultId))!, recursive: true);
        Directory.Delete(Path.Combine(_root, "tmp"), recursive: true);

        var again = vault.Store(new MemoryStream([1, 2, 3]), "one");

        Assert.Equal(one.VaultId, again.VaultId);
        Assert.True(File.Exists(vault.PathOf(again.VaultId)));
    }

    [Fact]
    public void Content_larger_than_one_chunk_is_written_whole()
    {
        var vault = new FileVault(_root);
        var bytes = new byte[300_000];
        new Random(7).NextBytes(bytes);

        var file = vault.Store(new MemoryStream(bytes), "big.bin");

        Assert.Equal(bytes, File.ReadAllBytes(vault.PathOf(file.VaultId)));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "tmp")));
    }

    [Fact]
    public void Content_in_a_readable_memory_buffer_gets_the_ids_of_the_same_content_streamed()
    {
        var bytes = new byte[100_000];
        new Random(11).NextBytes(bytes);
        var streamedVault = new FileVault(Path.Combine(_root, "streamed"));
        var bufferedVault = new FileVault(Path.Combine(_root, "buffered"));

        // A MemoryStream over an array without a visible buffer is read in chunks; one with a visible buffer is not.
        var streamed = streamedVault.Store(new MemoryStream(bytes), "a.bin");
        var buffered = bufferedVault.Store(new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true), "a.bin");

        Assert.Equal(streamed, buffered);
        Assert.Equal(bytes, File.ReadAllBytes(bufferedVault.PathOf(buffered.VaultId)));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "buffered", "tmp")));
    }

    [Fact]
    public void A_buffered_stream_is_stored_from_its_position_and_read_to_its_end()
    {
        var bytes = Encoding.ASCII.GetBytes("skipped|stored part");
        var vault = new FileVault(_root);
        var stream = new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true) { Position = 8 };

        var file = vault.Store(stream, "part");

        var stored = bytes[8..];
        Assert.Equal(Convert.ToHexStringLower(SHA1.HashData(stored)), file.VaultId.Value);
        Assert.Equal(stored.Length, file.Size);
        Assert.Equal(stored, File.ReadAllBytes(vault.PathOf(file.VaultId)));
        Assert.Equal(bytes.Length, stream.Position);
    }

    [Fact]
    public async Task Concurrent_stores_into_a_new_fan_out_folder_all_succeed()
    {
        // Contents whose SHA-1 shares its first byte go to one fan-out folder: the first store makes the folder, and a
        // store beside it must not rename into the folder before it exists. Threads start together, in many new vaults.
        var sameFolder = Enumerable.Range(0, 200_000).Select(BitConverter.GetBytes).Where(b => SHA1.HashData(b)[0] == 0)
            .Take(4).ToArray();
        for (var round = 0; round < 400; round++)
        {
            var vault = new FileVault(Path.Combine(_root, round.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            using var start = new Barrier(sameFolder.Length);
            var stores = sameFolder.Select(content => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return vault.Store(new MemoryStream(content), "n");
            }, TaskCreationOptions.LongRunning)).ToArray();

            var stored = await Task.WhenAll(stores);

            Assert.All(stored, f => Assert.True(File.Exists(vault.PathOf(f.VaultId))));
        }
    }
}
