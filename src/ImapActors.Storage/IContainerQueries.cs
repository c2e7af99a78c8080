using ImapActors.Domain;

namespace ImapActors.Storage;

/// <summary>One row of <c>containers list</c>.</summary>
public sealed record ContainerSummary(
    long Id,
    string Asset,
    string Folder,
    string Name,
    string SourceDataIdentifier,
    uint UidValidity,
    uint Uid,
    string? MessageId,
    int ArtifactCount,
    DateTimeOffset CreatedAt)
{
    /// <summary>The node that ingested the container; null for containers stored before nodes were recorded.</summary>
    public string? Node { get; init; }
}

/// <summary>A stored container with everything needed to show it in the reference's shape.</summary>
public sealed record StoredContainer(ContainerSummary Summary, string Label, string RawSha256, VaultId RawEmail,
    IReadOnlyList<Artifact> Artifacts, IReadOnlyList<VaultFile> VaultFiles)
{
    /// <summary>The raw email when the store keeps it with the container (<c>raw_emails</c>); null when the vault does.</summary>
    public byte[]? RawBytes { get; init; }

    /// <summary>The raw email as the server served it, from the store or else the vault; null when neither has it.</summary>
    public Stream? OpenRawEmail(IVault vault)
    {
        ArgumentNullException.ThrowIfNull(vault);
        return RawBytes is { } bytes ? new MemoryStream(bytes, writable: false) : vault.OpenRead(RawEmail);
    }
}

/// <summary>
/// Which containers to list and one page of them. Every filter that is set must match; pages are in id order and the
/// next one starts after <see cref="ContainerPage.NextAfterId"/> (keyset paging: a page costs the same wherever it is).
/// </summary>
public sealed record ContainerQuery
{
    /// <summary>Only this asset's containers.</summary>
    public string? Asset { get; init; }

    /// <summary>Only containers of this folder (its exact name).</summary>
    public string? Folder { get; init; }

    /// <summary>Only containers with this label.</summary>
    public string? Label { get; init; }

    /// <summary>Only ids at or above this one.</summary>
    public long? FromId { get; init; }

    /// <summary>Only ids at or below this one.</summary>
    public long? ToId { get; init; }

    /// <summary>
    /// Only containers whose subject (the container's name) or sender (the Email Artifact's <c>fromEmail</c>) contains
    /// this text, ignoring case (ASCII letters only on SQLite).
    /// </summary>
    public string? Search { get; init; }

    /// <summary>The page starts after this id: the previous page's <see cref="ContainerPage.NextAfterId"/>.</summary>
    public long? AfterId { get; init; }

    /// <summary>The most containers of the page, at least 1; null for every matching container.</summary>
    public int? Limit { get; init; }
}

/// <summary>One page of containers in id order, and the cursor of the next page, null when this page is the last.</summary>
public sealed record ContainerPage(IReadOnlyList<ContainerSummary> Containers, long? NextAfterId);

/// <summary>Reads containers for people and APIs; never writes.</summary>
public interface IContainerQueries
{
    /// <summary>The containers that match <paramref name="query"/>, one page of them.</summary>
    Task<ContainerPage> QueryContainersAsync(ContainerQuery query, CancellationToken cancellationToken);

    /// <summary>Every container, optionally of one asset, in id order.</summary>
    Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken);

    /// <summary>One container with its artifacts and vault files, or null when there is none with <paramref name="id"/>.</summary>
    Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// A vault file as a container lists it (its name, size and digests), the first container's that has it; null when
    /// no container has <paramref name="id"/>, which is also the answer for a raw email's vault id.
    /// </summary>
    Task<VaultFile?> FindVaultFileAsync(VaultId id, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} does not look up vault files");

    /// <summary>Counts containers, optionally of one asset.</summary>
    Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken);
}
