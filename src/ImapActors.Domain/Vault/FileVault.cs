using System.Security.Cryptography;

namespace ImapActors.Domain;

/// <summary>
/// A vault on the local file system: <c>{root}/{first two hex digits}/{sha1}</c>. Files are written to a temporary
/// name and renamed, so a crash never leaves a half-written file under a content id.
/// </summary>
public sealed class FileVault : IVault
{
    private readonly string _root;

    public FileVault(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public VaultFile Store(Stream content, string fileName)
    {
        ArgumentNullException.ThrowIfNull(content);
        var tmpDir = Path.Combine(_root, "tmp");
        Directory.CreateDirectory(tmpDir);
        var tmp = Path.Combine(tmpDir, Guid.NewGuid().ToString("N"));
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        long size = 0;
        try
        {
            using (var output = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
                {
                    sha1.AppendData(buffer, 0, read);
                    sha256.AppendData(buffer, 0, read);
                    md5.AppendData(buffer, 0, read);
                    output.Write(buffer, 0, read);
                    size += read;
                }
            }

            var id = new VaultId(Convert.ToHexStringLower(sha1.GetHashAndReset()));
            var target = PathOf(id);
            if (File.Exists(target))
            {
                File.Delete(tmp);
            }
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(tmp, target, overwrite: true);
            }

            return new VaultFile(id, fileName, size,
                Convert.ToHexStringLower(sha256.GetHashAndReset()), Convert.ToHexStringLower(md5.GetHashAndReset()));
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    public Stream? OpenRead(VaultId id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var path = PathOf(id);
        return File.Exists(path) ? File.OpenRead(path) : null;
    }

    public string PathOf(VaultId id) => Path.Combine(_root, id.Value[..2], id.Value);
}
