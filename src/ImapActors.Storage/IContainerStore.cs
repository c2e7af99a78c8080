using ImapActors.Domain;

namespace ImapActors.Storage;

/// <summary>What happened to one email of a committed batch.</summary>
public enum CommitOutcome
{
    /// <summary>A new container was made.</summary>
    Created,

    /// <summary>(asset, folder, UIDVALIDITY, UID) was committed before: nothing changed.</summary>
    AlreadyIngested,

    /// <summary>
    /// Same content (SHA-256 of the raw bytes) as a container made under an earlier UIDVALIDITY of the same mailbox:
    /// the new UID is recorded against that container, nothing else changes.
    /// </summary>
    Reconciled,
}

/// <summary>The result for one email of a batch.</summary>
public sealed record CommitResult(EmailSource Source, long ContainerId, CommitOutcome Outcome);

/// <summary>One email of a batch: its container, artifacts, vault files, and the vault id of its raw bytes.</summary>
public sealed record EmailToCommit(ProcessedEmail Email, VaultId RawEmail);

/// <summary>A message that failed parse, extract or store too often, kept with its raw bytes.</summary>
public sealed record QuarantinedEmail(
    long Id,
    EmailSource Source,
    VaultId RawEmail,
    string Stage,
    string Error,
    string ParserVersion,
    int Attempts,
    DateTimeOffset QuarantinedAt,
    DateTimeOffset? ResolvedAt);

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
    DateTimeOffset CreatedAt);

/// <summary>A stored container with everything needed to show it in the reference's shape.</summary>
public sealed record StoredContainer(ContainerSummary Summary, string Label, string RawSha256, VaultId RawEmail,
    IReadOnlyList<Artifact> Artifacts, IReadOnlyList<VaultFile> VaultFiles);

/// <summary>
/// The container store. Every write is idempotent on (asset, folder, UIDVALIDITY, UID), so a batch re-delivered after a
/// crash creates and changes nothing.
/// </summary>
public interface IContainerStore : IAsyncDisposable
{
    /// <summary>Creates the schema when missing. Safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Commits a batch in one transaction and returns one result per email, in order.</summary>
    Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken);

    /// <summary>UIDs of <paramref name="mailbox"/> already committed under <paramref name="uidValidity"/> within [from, to].</summary>
    Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to, CancellationToken cancellationToken);

    Task<long> QuarantineAsync(EmailSource source, VaultId rawEmail, string stage, string error, string parserVersion,
        int attempts, CancellationToken cancellationToken);

    Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken);

    Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken);

    /// <summary>Marks a quarantined email as ingested (after a successful retry).</summary>
    Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken);

    Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string? asset, CancellationToken cancellationToken);

    Task<StoredContainer?> GetContainerAsync(long id, CancellationToken cancellationToken);

    /// <summary>Counts containers, optionally of one asset.</summary>
    Task<long> CountContainersAsync(string? asset, CancellationToken cancellationToken);
}
