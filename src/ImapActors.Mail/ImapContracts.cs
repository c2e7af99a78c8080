using ImapActors.Domain;

namespace ImapActors.Mail;

/// <summary>What EXAMINE reported for a folder.</summary>
public sealed record FolderStatus(string Folder, uint UidValidity, uint UidNext, int Count);

/// <summary>One fetched message: its UID, INTERNALDATE, RFC822.SIZE and bytes.</summary>
public sealed record FetchedEmail(uint Uid, DateTimeOffset? InternalDate, long Size, RawEmail Raw);

/// <summary>Why connecting or logging in failed, in terms a user can act on.</summary>
public enum ImapFailureCause
{
    NameNotResolved,
    ConnectionRefused,
    Timeout,
    CertificateNotTrusted,
    CertificateNameMismatch,
    StartTlsNotOffered,
    AuthenticationFailed,
    FolderNotFound,
    ProtocolError,
    ConnectionLost,
    TokenUnavailable,
    TokenEndpointUnreachable,

    /// <summary>The server refused one connection too many for the user (not a refused password).</summary>
    TooManyConnections,
}

/// <summary>An IMAP failure with its cause and a message that names no secret.</summary>
public sealed class ImapFailureException : Exception
{
    public ImapFailureException(ImapFailureCause cause, string message, Exception? inner = null)
        : base(message, inner) => Cause = cause;

    public ImapFailureException() : this(ImapFailureCause.ProtocolError, "IMAP failure") { }

    public ImapFailureException(string message) : this(ImapFailureCause.ProtocolError, message) { }

    public ImapFailureException(string message, Exception inner) : this(ImapFailureCause.ProtocolError, message, inner) { }

    public ImapFailureCause Cause { get; }

    /// <summary>
    /// The server's own answer when it refused the command: <c>NO</c> or <c>BAD</c> and its text (the connection still
    /// works), or <c>BYE</c> and its text when it ended the session in answer to the command, as Dovecot does for a FETCH
    /// of a message it cannot read (<see cref="Cause"/> is then <see cref="ImapFailureCause.ConnectionLost"/>). Null when
    /// the command got no answer: a lost connection, a timeout. Sending the same command again gets the same refusal.
    /// </summary>
    public string? Refusal { get; init; }

    /// <summary>True when trying again later may succeed (network, server restart); false for configuration errors.</summary>
    public bool IsTransient => Cause is ImapFailureCause.ConnectionRefused or ImapFailureCause.Timeout
        or ImapFailureCause.ConnectionLost or ImapFailureCause.ProtocolError or ImapFailureCause.NameNotResolved
        or ImapFailureCause.TokenEndpointUnreachable or ImapFailureCause.TooManyConnections;
}

/// <summary>Supplies an OAuth access token for a login; asked again with <c>forceRefresh</c> after a rejected token.</summary>
public interface IAccessTokenProvider
{
    Task<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken);
}
