using System.Data.Common;
using ImapActors.Domain;

namespace ImapActors.Storage.Sql;

/// <summary>What the committer, the quarantine and the queries need of one database: connections and the write transaction.</summary>
internal interface ISqlConnector
{
    /// <summary>Opens a connection ready for use.</summary>
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Begins the one transaction of a batch. It must keep two commits of the same mailbox from interleaving, so that
    /// the "no key of this UIDVALIDITY points at the container yet" test of reconciliation stays true until commit.
    /// </summary>
    Task<DbTransaction> BeginWriteAsync(DbConnection connection, IReadOnlyList<MailboxId> mailboxes, CancellationToken cancellationToken);

    /// <summary>
    /// SQL returning <c>@count</c> new container ids, one per row, when the database runs many statements in one round
    /// trip (<see cref="DbBatch"/>) and binds parameters by position (<c>$1</c>), so a batch's emails go to the server
    /// together in one multi-row INSERT per table; null to send each statement on its own (an embedded database,
    /// where a statement costs no round trip).
    /// </summary>
    string? ReserveContainerIdsSql { get; }
}
