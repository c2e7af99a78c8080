namespace ImapActors.Mail;

/// <summary>An authenticated IMAP connection as its callers use it: list folders, examine one read-only, search UIDs, fetch; dispose to log out.</summary>
public interface IImapSession : IAsyncDisposable
{
    /// <summary>Lists every folder of the personal namespaces (<c>LIST "" *</c>), INBOX included.</summary>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>Full folder names with the server's separator.</returns>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    Task<IReadOnlyList<string>> ListFoldersAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens <paramref name="folder"/> read-only (<c>EXAMINE</c>), so later fetches set no <c>\Seen</c> flag,
    /// and makes it the folder the search and fetch methods use. <c>inbox</c> in any case is INBOX.
    /// </summary>
    /// <param name="folder">The full folder name with the server's separator.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>UIDVALIDITY, UIDNEXT and the message count.</returns>
    /// <exception cref="ImapFailureException"><see cref="ImapFailureCause.FolderNotFound"/> when the folder does not exist; otherwise the command failed.</exception>
    Task<FolderStatus> ExamineAsync(string folder, CancellationToken cancellationToken);

    /// <summary><c>UID SEARCH UID from:to</c> on the examined folder, with an explicit upper bound.</summary>
    /// <param name="fromUid">First UID of the window, at least 1.</param>
    /// <param name="toUid">Last UID of the window; smaller than <paramref name="fromUid"/> gives an empty result.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The UIDs that exist in the window, ascending.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    Task<IReadOnlyList<uint>> SearchUidsAsync(uint fromUid, uint toUid, CancellationToken cancellationToken);

    /// <summary>All UIDs from <paramref name="fromUid"/> up to the examined folder's UIDNEXT, searched in bounded windows.</summary>
    /// <param name="fromUid">First UID wanted, at least 1.</param>
    /// <param name="cancellationToken">Cancels the commands.</param>
    /// <returns>The UIDs, ascending.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">A command failed or the connection was lost.</exception>
    Task<IReadOnlyList<uint>> SearchAllUidsAsync(uint fromUid, CancellationToken cancellationToken);

    /// <summary><c>UID FETCH (UID INTERNALDATE)</c>: when the server received each message of the examined folder.</summary>
    /// <param name="uids">The UIDs wanted.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The INTERNALDATE of each UID that still exists.</returns>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    Task<IReadOnlyDictionary<uint, DateTimeOffset>> FetchInternalDatesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken);

    /// <summary><c>UID SEARCH SINCE date</c>: the messages of the examined folder received on or after that day (the server's calendar day).</summary>
    /// <param name="since">The day; its time of day is ignored by the server.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The UIDs, ascending.</returns>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    Task<IReadOnlyList<uint>> SearchReceivedSinceAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>True when the server offers IDLE (RFC 2177).</summary>
    bool SupportsIdle { get; }

    /// <summary>
    /// Waits on the examined folder until the server announces a change in its message count (new mail),
    /// <paramref name="stop"/> is signalled, or <paramref name="longest"/> has passed: in IDLE, ended with DONE, when the
    /// server offers it (<see cref="SupportsIdle"/>); otherwise by a NOOP every half minute, which also finds a dead
    /// connection. Then the connection is ready for the next command.
    /// </summary>
    /// <param name="longest">The longest wait: RFC 2177 lets a server drop a client idle for 30 minutes.</param>
    /// <param name="stop">Ends the wait early, politely.</param>
    /// <param name="cancellationToken">Abandons the connection.</param>
    /// <returns>True when the server announced a change; false after a stop or <paramref name="longest"/>.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">The connection was lost or the server ended the session (BYE).</exception>
    Task<bool> IdleAsync(TimeSpan longest, CancellationToken stop, CancellationToken cancellationToken);

    /// <summary><c>UID FETCH (UID RFC822.SIZE)</c>: the sizes of messages of the examined folder, without their bodies.</summary>
    /// <param name="uids">The UIDs wanted.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The size of each UID that still exists.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">The command failed or the connection was lost.</exception>
    Task<IReadOnlyDictionary<uint, long>> FetchSizesAsync(IReadOnlyList<uint> uids, CancellationToken cancellationToken);

    /// <summary>
    /// Fetches messages of the examined folder without setting <c>\Seen</c>, in the order of <paramref name="uids"/>;
    /// a UID that no longer exists is absent. Messages above <paramref name="largeMessageBytes"/> come back
    /// file-backed. The caller disposes each <see cref="FetchedEmail.Raw"/>.
    /// </summary>
    /// <param name="uids">The UIDs to fetch.</param>
    /// <param name="largeMessageBytes">Messages larger than this (RFC822.SIZE) go to a temporary file.</param>
    /// <param name="tempDirectory">Where large messages are written; created when missing.</param>
    /// <param name="cancellationToken">Cancels the commands.</param>
    /// <returns>The messages that still exist.</returns>
    /// <exception cref="InvalidOperationException">No folder has been examined.</exception>
    /// <exception cref="ImapFailureException">
    /// A command failed or the connection was lost; <see cref="ImapFailureException.Refusal"/> holds the server's answer
    /// when it refused the fetch (a message it cannot serve, say), and is null when no answer came.
    /// </exception>
    IAsyncEnumerable<FetchedEmail> FetchAsync(IReadOnlyList<uint> uids, long largeMessageBytes, string tempDirectory, CancellationToken cancellationToken);
}
