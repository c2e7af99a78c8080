using System.Buffers;

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
        using var hashes = new VaultHashes();
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = content.Read(buffer, 0, buffer.Length)) > 0)
            {
                hashes.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return hashes.Finish(fileName);
    }

    /// <summary>Always null: nothing is kept.</summary>
    public Stream? OpenRead(VaultId id) => null;

    /// <inheritdoc />
    public string Location => "nowhere (hashes only)";

    /// <inheritdoc />
    public string Describe(VaultId id) => Location;
}
