using System.Net.Sockets;
using ImapActors.Domain;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MailAuthenticationException = MailKit.Security.AuthenticationException;
using TlsAuthenticationException = System.Security.Authentication.AuthenticationException;

namespace ImapActors.Mail;

/// <summary>Turns MailKit, socket and TLS exceptions into <see cref="ImapFailureException"/>s that name the asset's endpoint and no secret.</summary>
internal sealed class ImapFailureMapper
{
    private readonly AssetSettings _asset;
    private readonly string _endpoint;

    public ImapFailureMapper(AssetSettings asset)
    {
        _asset = asset;
        _endpoint = asset.Server + ":" + asset.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs one command; any failure but a requested cancellation becomes an <see cref="ImapFailureException"/>.</summary>
    public async Task RunAsync(Func<Task> action, string what, CancellationToken ct, string? folder = null) =>
        await RunAsync(async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        }, what, ct, folder).ConfigureAwait(false);

    /// <inheritdoc cref="RunAsync(Func{Task}, string, CancellationToken, string?)"/>
    public async Task<T> RunAsync<T>(Func<Task<T>> action, string what, CancellationToken ct, string? folder = null)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ImapFailureException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw MapCommandFailure(ex, what, folder);
        }
    }

    /// <summary>A failed command of an open connection; <paramref name="folder"/> names the folder it was about, if any.</summary>
    public ImapFailureException MapCommandFailure(Exception ex, string what, string? folder) => ex switch
    {
        _ when IsTooManyConnections(ex) => new ImapFailureException(ImapFailureCause.TooManyConnections,
            $"{_endpoint} refused one connection too many for user '{_asset.Username}' while {what}: {ex.Message}", ex),
        MailAuthenticationException => new ImapFailureException(ImapFailureCause.AuthenticationFailed,
            $"Authentication failed for user '{_asset.Username}' on {_endpoint}: the server rejected the credentials", ex),
        FolderNotFoundException => new ImapFailureException(ImapFailureCause.FolderNotFound,
            $"Folder '{folder}' does not exist for user '{_asset.Username}' on {_endpoint}", ex),
        ImapCommandException cmd when folder is not null && cmd.ResponseText.Contains("exist", StringComparison.OrdinalIgnoreCase) =>
            new ImapFailureException(ImapFailureCause.FolderNotFound,
                $"Folder '{folder}' does not exist for user '{_asset.Username}' on {_endpoint}: {cmd.ResponseText}", ex),
        ImapCommandException cmd => new ImapFailureException(ImapFailureCause.ProtocolError,
            $"The server at {_endpoint} refused {what}: {cmd.Response} {cmd.ResponseText}", ex) { Refusal = Answer(cmd) },

        // MailKit wraps the disconnect after an untagged BYE in a second ImapProtocolException carrying the BYE's text.
        ImapProtocolException { InnerException: ImapProtocolException } bye => new ImapFailureException(ImapFailureCause.ConnectionLost,
            $"The server at {_endpoint} ended the session in answer to {what}: BYE {bye.Message}", ex) { Refusal = "BYE " + bye.Message },
        _ when IsTimeout(ex) => new ImapFailureException(ImapFailureCause.Timeout,
            $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while {what}", ex),
        ImapProtocolException or IOException or SocketException or ServiceNotConnectedException or ObjectDisposedException =>
            new ImapFailureException(ImapFailureCause.ConnectionLost, $"Connection to {_endpoint} was lost while {what}: {ex.Message}", ex),
        ServiceNotAuthenticatedException => new ImapFailureException(ImapFailureCause.ConnectionLost,
            $"The session with {_endpoint} is no longer authenticated while {what}", ex),
        _ => new ImapFailureException(ImapFailureCause.ProtocolError, $"IMAP error from {_endpoint} while {what}: {ex.Message}", ex),
    };

    /// <summary>
    /// The server's answer to one connection too many: Dovecot's <c>NO [LIMIT] Maximum number of connections from
    /// user+IP exceeded</c>, Gmail's <c>[ALERT] Too many simultaneous connections</c>, Exchange's "too many connections".
    /// </summary>
    private static bool IsTooManyConnections(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (IsTooManyConnections(e is ImapCommandException cmd ? cmd.ResponseText + " " + cmd.Message : e.Message))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc cref="IsTooManyConnections(Exception)"/>
    public static bool IsTooManyConnections(string serverText) =>
        serverText.Contains("[LIMIT]", StringComparison.Ordinal)
        || serverText.Contains("Maximum number of connections", StringComparison.OrdinalIgnoreCase)
        || serverText.Contains("simultaneous connections", StringComparison.OrdinalIgnoreCase)
        || serverText.Contains("too many connections", StringComparison.OrdinalIgnoreCase);

    /// <summary>A failed connect or TLS handshake; a certificate the validator rejected wins over what MailKit says.</summary>
    public ImapFailureException MapConnectFailure(Exception ex, CertificateValidator validator)
    {
        if (validator.Failure is { } certFailure)
        {
            return new ImapFailureException(certFailure.Cause, certFailure.Message, ex);
        }

        if (IsTooManyConnections(ex))
        {
            return new ImapFailureException(ImapFailureCause.TooManyConnections,
                $"{_endpoint} refused one connection too many for user '{_asset.Username}': {ex.Message}", ex);
        }

        var socket = Find<SocketException>(ex);
        if (socket is not null)
        {
            switch (socket.SocketErrorCode)
            {
                case SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData or SocketError.NoRecovery:
                    return new ImapFailureException(ImapFailureCause.NameNotResolved,
                        $"Cannot resolve the server name '{_asset.Server}': check the asset's server setting and DNS", ex);
                case SocketError.ConnectionRefused:
                    return new ImapFailureException(ImapFailureCause.ConnectionRefused,
                        $"Connection to {_endpoint} was refused: check the server and port, and that the IMAP service is running", ex);
                case SocketError.TimedOut:
                    return new ImapFailureException(ImapFailureCause.Timeout,
                        $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while connecting", ex);
                case SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.HostDown:
                    return new ImapFailureException(ImapFailureCause.ConnectionRefused,
                        $"{_endpoint} is unreachable ({socket.SocketErrorCode}): check the server name and the network path", ex);
            }
        }

        if (IsTimeout(ex))
        {
            return new ImapFailureException(ImapFailureCause.Timeout,
                $"No answer from {_endpoint} within {_asset.Timeout.TotalSeconds:0.#} s while connecting", ex);
        }

        if (ex is NotSupportedException && !_asset.UseSsl)
        {
            return new ImapFailureException(ImapFailureCause.StartTlsNotOffered,
                $"{_endpoint} does not offer STARTTLS, so the login would travel in clear text: use implicit TLS (use_ssl) or a server that offers STARTTLS", ex);
        }

        if (ex is SslHandshakeException or TlsAuthenticationException)
        {
            var hint = _asset.UseSsl
                ? "is this a plain IMAP port? Turn off use_ssl for a STARTTLS port"
                : "the server's TLS setup is broken or incompatible";
            return new ImapFailureException(ImapFailureCause.ProtocolError,
                $"TLS handshake with {_endpoint} failed ({hint}): {Innermost(ex).Message}", ex);
        }

        if (ex is ImapProtocolException or IOException)
        {
            return new ImapFailureException(ImapFailureCause.ConnectionLost,
                $"Connection to {_endpoint} was lost while connecting: {ex.Message}", ex);
        }

        return new ImapFailureException(ImapFailureCause.ProtocolError, $"Error connecting to {_endpoint}: {ex.Message}", ex);
    }

    /// <summary>The tagged answer as the server sent it: <c>NO</c> or <c>BAD</c>, then its text.</summary>
    private static string Answer(ImapCommandException cmd) =>
        (cmd.Response == ImapCommandResponse.Bad ? "BAD " : "NO ") + cmd.ResponseText;

    private static bool IsTimeout(Exception ex) =>
        Find<TimeoutException>(ex) is not null || Find<SocketException>(ex)?.SocketErrorCode == SocketError.TimedOut;

    private static T? Find<T>(Exception ex)
        where T : Exception
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }
}
