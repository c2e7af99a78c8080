using System.Text.Json.Nodes;

namespace ImapActors.Domain;

/// <summary>Where one message came from: the mailbox, its UID and UIDVALIDITY, and the server's INTERNALDATE.</summary>
public sealed record EmailSource(AssetName Asset, FolderName Folder, uint Uid, uint UidValidity, DateTimeOffset? InternalDate)
{
    public MailboxId Mailbox => new(Asset, Folder);
}

/// <summary>
/// One artifact in the SOAR shape. <see cref="Cef"/> and <see cref="CefTypes"/> keep insertion order, which is the order
/// the reference writes them in.
/// </summary>
public sealed record Artifact(string Name, JsonObject Cef, JsonObject? CefTypes, bool RunAutomation, string SourceDataIdentifier);

/// <summary>A file stored in the vault, content-addressed by SHA-1.</summary>
public sealed record VaultFile(VaultId VaultId, string FileName, long Size, string Sha256, string Md5);

/// <summary>The container (case) made from one email, in the SOAR shape plus what the reference lacks.</summary>
public sealed record EmailContainer
{
    /// <summary>Decoded Subject without folding, or <c>Email ID: {uid}</c>.</summary>
    public required string Name { get; init; }

    /// <summary><c>"{md5 hex of folder} : {uid}"</c> (SHA-256 under FIPS), exactly as the reference.</summary>
    public required string SourceDataIdentifier { get; init; }

    public required string Label { get; init; }
    public required EmailSource Source { get; init; }
    public string? MessageId { get; init; }
    public DateTimeOffset? Date { get; init; }

    /// <summary>Lowercase hex SHA-256 of the raw bytes: the content key used to reconcile after a UIDVALIDITY change.</summary>
    public required string RawSha256 { get; init; }

    public required long RawSize { get; init; }
}

/// <summary>Why a message was only partly extracted.</summary>
public sealed record IngestionIssue(string Code, string Detail);

/// <summary>The result of turning one email into a container, its artifacts and its vault files.</summary>
public sealed record ProcessedEmail(
    EmailContainer Container,
    IReadOnlyList<Artifact> Artifacts,
    IReadOnlyList<VaultFile> VaultFiles,
    IReadOnlyList<IngestionIssue> Issues);

/// <summary>Stores attachment bytes once per content.</summary>
public interface IVault
{
    /// <summary>
    /// Streams <paramref name="content"/> into the vault and returns its ids. Storing the same bytes again stores nothing
    /// new. <paramref name="fileName"/> is metadata only; it never becomes part of a path.
    /// </summary>
    VaultFile Store(Stream content, string fileName);

    /// <summary>Opens a stored file, or returns null when the vault does not hold it.</summary>
    Stream? OpenRead(VaultId id);

    /// <summary>Where the vault keeps its files, for people: a folder, a database table.</summary>
    string Location { get; }

    /// <summary>Where the vault keeps (or would keep) the file <paramref name="id"/>, for people: a path, a database table.</summary>
    string Describe(VaultId id);
}
