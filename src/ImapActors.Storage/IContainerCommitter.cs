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
public sealed record EmailToCommit(ProcessedEmail Email, VaultId RawEmail)
{
    /// <summary>The node that ingested the email (<see cref="ClusterSettings.NodeName"/>), kept on a new container; null: not recorded.</summary>
    public string? Node { get; init; }

    /// <summary>The destinations of the email's asset: a new container gets one pending delivery to each, in its transaction.</summary>
    public IReadOnlyList<string> Destinations { get; init; } = [];

    /// <summary>
    /// The raw bytes, when they are kept in the store with the container (<c>raw_emails</c>, in the commit's own
    /// transaction) instead of a vault file; <see cref="RawEmail"/> is then their SHA-1 all the same. Null: in the vault.
    /// </summary>
    public byte[]? RawBytes { get; init; }
}

/// <summary>
/// Writes containers. Every commit is idempotent on (asset, folder, UIDVALIDITY, UID), so a batch re-delivered after a
/// crash creates and changes nothing; after a UIDVALIDITY change the same bytes are recorded against their container.
/// </summary>
public interface IContainerCommitter
{
    /// <summary>Commits a batch in one transaction and returns one result per email, in order.</summary>
    Task<IReadOnlyList<CommitResult>> CommitAsync(IReadOnlyList<EmailToCommit> batch, CancellationToken cancellationToken);

    /// <summary>UIDs of <paramref name="mailbox"/> already committed under <paramref name="uidValidity"/> within [from, to].</summary>
    Task<IReadOnlySet<uint>> CommittedUidsAsync(MailboxId mailbox, uint uidValidity, uint from, uint to, CancellationToken cancellationToken);
}
