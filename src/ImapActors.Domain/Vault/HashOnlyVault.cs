using System.Buffers;
using System.Security.Cryptography;

namespace ImapActors.Domain;

/// <summary>
/// A vault that computes the ids and hashes of what it is given and stores nothing: for dry runs such as the
/// <c>parse</c> command and for benchmarks.
/// </summary>
public sealed class HashOnlyVault : IVault
{
    public VaultFile Store(Stream content, string fileName)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        long size = 0;
        try
        {
            int read;
            while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
            {
                var chunk = buffer.AsSpan(0, read);
                sha1.AppendData(chunk);
                sha256.AppendData(chunk);
                md5.AppendData(chunk);
                size += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new VaultFile(new VaultId(Convert.ToHexStringLower(sha1.GetHashAndReset())), fileName, size,
            Convert.ToHexStringLower(sha256.GetHashAndReset()), Convert.ToHexStringLower(md5.GetHashAndReset()));
    }

    /// <summary>Always null: nothing is kept.</summary>
    public Stream? OpenRead(VaultId id) => null;
}
