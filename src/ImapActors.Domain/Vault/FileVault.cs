using System.Buffers;
using System.Collections.Concurrent;

namespace ImapActors.Domain;

/// <summary>
/// A vault on the local file system: <c>{root}/{first two hex digits}/{sha1}</c>. Files are written to a temporary
/// name and renamed, so a crash never leaves a half-written file under a content id.
/// </summary>
public sealed class FileVault : IVault
{
    private const int ChunkBytes = 81920;
    private readonly string _root;
    private readonly string _tmp;

    // The fan-out folders known to exist: at most 256, made once instead of asked for on every store.
    private readonly ConcurrentDictionary<string, bool> _folders = new(StringComparer.Ordinal);

    public FileVault(string root)
    {
        _root = Path.GetFullPath(root);
        _tmp = Path.Combine(_root, "tmp");
        Directory.CreateDirectory(_tmp);
    }

    public string Root => _root;

    /// <inheritdoc />
    public string Location => _root;

    public VaultFile Store(Stream content, string fileName)
    {
        ArgumentNullException.ThrowIfNull(content);
        var tmp = Path.Combine(_tmp, Guid.NewGuid().ToString("N"));
        if (content is MemoryStream memory && memory.TryGetBuffer(out var buffered))
        {
            return StoreBuffered(memory, buffered, tmp, fileName);
        }

        using var hashes = new VaultHashes();
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            // Unbuffered: every write is already a whole chunk.
            using (var output = OpenTemporary(tmp))
            {
                int read;
                while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
                {
                    hashes.Append(buffer.AsSpan(0, read));
                    output.Write(buffer, 0, read);
                }
            }

            var file = hashes.Finish(fileName);
            Publish(tmp, file.VaultId);
            return file;
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Content already in memory (a raw email, a decoded part): hashed in one call per digest and written in one write,
    /// which for small files costs a fraction of the incremental hashes and the chunked copy.
    /// </summary>
    private VaultFile StoreBuffered(MemoryStream memory, ArraySegment<byte> buffered, string tmp, string fileName)
    {
        var bytes = buffered.AsSpan((int)memory.Position);
        memory.Seek(0, SeekOrigin.End);
        var file = VaultHashes.Of(bytes, fileName);
        try
        {
            using (var output = OpenTemporary(tmp))
            {
                output.Write(bytes);
            }

            Publish(tmp, file.VaultId);
            return file;
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Renames a fully written temporary file to its content id, or drops it when the vault already holds it.</summary>
    private void Publish(string tmp, VaultId id)
    {
        var target = PathOf(id);
        if (File.Exists(target))
        {
            File.Delete(tmp);
            return;
        }

        var folder = Path.GetDirectoryName(target)!;
        if (!_folders.ContainsKey(folder))
        {
            // Known only once it exists: a store beside this one skips the check only after the folder is made.
            Directory.CreateDirectory(folder);
            _folders.TryAdd(folder, true);
        }

        try
        {
            File.Move(tmp, target, overwrite: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed behind the vault's back while it runs: make it again.
            Directory.CreateDirectory(folder);
            File.Move(tmp, target, overwrite: true);
        }
    }

    private FileStream OpenTemporary(string tmp)
    {
        try
        {
            return new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        }
        catch (DirectoryNotFoundException)
        {
            Directory.CreateDirectory(_tmp);
            return new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        }
    }

    public Stream? OpenRead(VaultId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var path = PathOf(id);
        return File.Exists(path) ? File.OpenRead(path) : null;
    }

    public string PathOf(VaultId id) => Path.Combine(_root, id.Value[..2], id.Value);

    /// <inheritdoc />
    /// <returns>The file's path.</returns>
    public string Describe(VaultId id) => PathOf(id);
}
