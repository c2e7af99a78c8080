using System.Security.Cryptography;

namespace ImapActors.Domain;

/// <summary>
/// The ids and hashes of one content as every vault names it: SHA-1 (the vault id, as SOAR's), SHA-256 and MD5, lower-case
/// hex. One implementation, so a file stored by one vault has the same <see cref="VaultFile"/> in another.
/// </summary>
public sealed class VaultHashes : IDisposable
{
    private readonly IncrementalHash _sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private long _size;

    /// <summary>Adds the next chunk of the content.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        _sha1.AppendData(chunk);
        _sha256.AppendData(chunk);
        _md5.AppendData(chunk);
        _size += chunk.Length;
    }

    /// <summary>The file of everything appended so far, named <paramref name="fileName"/>; the hashes start again.</summary>
    public VaultFile Finish(string fileName)
    {
        var file = new VaultFile(new VaultId(Convert.ToHexStringLower(_sha1.GetHashAndReset())), fileName, _size,
            Convert.ToHexStringLower(_sha256.GetHashAndReset()), Convert.ToHexStringLower(_md5.GetHashAndReset()));
        _size = 0;
        return file;
    }

    /// <summary>
    /// The file of content already in memory: one call per digest, which for small files costs a fraction of the
    /// incremental hashes.
    /// </summary>
    public static VaultFile Of(ReadOnlySpan<byte> bytes, string fileName)
    {
        Span<byte> sha1 = stackalloc byte[SHA1.HashSizeInBytes];
        Span<byte> sha256 = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> md5 = stackalloc byte[MD5.HashSizeInBytes];
        SHA1.HashData(bytes, sha1);
        SHA256.HashData(bytes, sha256);
        MD5.HashData(bytes, md5);
        return new VaultFile(new VaultId(Convert.ToHexStringLower(sha1)), fileName, bytes.Length, Convert.ToHexStringLower(sha256),
            Convert.ToHexStringLower(md5));
    }

    public void Dispose()
    {
        _sha1.Dispose();
        _sha256.Dispose();
        _md5.Dispose();
    }
}
