using ImapActors.Domain;

namespace ImapActors.Storage;

/// <summary>
/// A message that failed parse, extract or store too often, kept with its raw bytes; or one the server would not serve
/// (stage <c>fetch</c>), kept without: <see cref="RawEmail"/> is null, and a retry fetches it from the server.
/// </summary>
public sealed record QuarantinedEmail(
    long Id,
    EmailSource Source,
    VaultId? RawEmail,
    string Stage,
    string Error,
    string ParserVersion,
    int Attempts,
    DateTimeOffset QuarantinedAt,
    DateTimeOffset? ResolvedAt);

/// <summary>The emails that could not be ingested: one row per (asset, folder, UIDVALIDITY, UID), re-opened when it fails again.</summary>
public interface IQuarantineStore
{
    /// <summary>
    /// Quarantines an email, or updates its row when it is quarantined already; returns the row's id.
    /// <paramref name="rawEmail"/> is null for an email the server would not serve.
    /// </summary>
    Task<long> QuarantineAsync(EmailSource source, VaultId? rawEmail, string stage, string error, string parserVersion,
        int attempts, CancellationToken cancellationToken);

    /// <summary>The quarantined emails in id order; resolved ones only when <paramref name="includeResolved"/>.</summary>
    Task<IReadOnlyList<QuarantinedEmail>> ListQuarantineAsync(bool includeResolved, CancellationToken cancellationToken);

    /// <summary>One quarantined email, or null when there is none with <paramref name="id"/>.</summary>
    Task<QuarantinedEmail?> GetQuarantinedAsync(long id, CancellationToken cancellationToken);

    /// <summary>Marks a quarantined email as ingested (after a successful retry).</summary>
    Task ResolveQuarantinedAsync(long id, CancellationToken cancellationToken);
}
