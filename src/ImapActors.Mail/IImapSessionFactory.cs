using ImapActors.Domain;

namespace ImapActors.Mail;

/// <summary>Opens authenticated IMAP sessions; the actions and the mailbox connections take one, so a test can replace the server.</summary>
public interface IImapSessionFactory
{
    /// <summary>Connects (TLS or STARTTLS as configured) and logs in.</summary>
    /// <param name="asset">The asset's server, security and credentials.</param>
    /// <param name="tokens">The token source for OAuth assets; unused for Basic.</param>
    /// <param name="progress">Receives the connection progress messages.</param>
    /// <param name="cancellationToken">Cancels the connect and login.</param>
    /// <exception cref="ImapFailureException">The connection, TLS, or login failed.</exception>
    Task<IImapSession> ConnectAsync(AssetSettings asset, IAccessTokenProvider? tokens, Action<string>? progress, CancellationToken cancellationToken);
}

/// <summary>Sessions on real servers, through <see cref="ImapSession"/> (MailKit).</summary>
public sealed class ImapSessionFactory : IImapSessionFactory
{
    public static ImapSessionFactory Default { get; } = new();

    public async Task<IImapSession> ConnectAsync(AssetSettings asset, IAccessTokenProvider? tokens, Action<string>? progress,
        CancellationToken cancellationToken) =>
        await ImapSession.ConnectAsync(asset, tokens, progress, cancellationToken).ConfigureAwait(false);
}
