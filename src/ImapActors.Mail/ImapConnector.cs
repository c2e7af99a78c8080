using System.Net;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using MailKit.Net.Imap;
using MailKit.Security;

namespace ImapActors.Mail;

/// <summary>Connects an <see cref="ImapClient"/> with implicit TLS or STARTTLS and logs it in with a password or OAuth SASL.</summary>
internal sealed class ImapConnector
{
    private readonly ImapClient _client;
    private readonly AssetSettings _asset;
    private readonly ImapFailureMapper _errors;
    private readonly ServerReplyTail _replies;

    public ImapConnector(ImapClient client, AssetSettings asset, ImapFailureMapper errors, ServerReplyTail replies)
    {
        _client = client;
        _asset = asset;
        _errors = errors;
        _replies = replies;
    }

    /// <summary>Connects, secures and logs in, reporting <see cref="ImapSession.ConnectedProgress"/> and <see cref="ImapSession.LoggedInProgress"/>.</summary>
    public async Task ConnectAsync(IAccessTokenProvider? tokens, Action<string>? progress, CancellationToken ct)
    {
        if (_asset.AuthType == AuthType.OAuth && tokens is null)
        {
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable,
                $"Asset '{_asset.Name}' uses OAuth but no access token source is configured");
        }

        _client.Timeout = (int)Math.Clamp(_asset.Timeout.TotalMilliseconds, 1, int.MaxValue);
        var validator = new CertificateValidator(_asset);
        _client.ServerCertificateValidationCallback = validator.Validate;
        if (validator.HasCustomRoots || !_asset.VerifyServerCert)
        {
            // A private CA or a self-signed certificate publishes no revocation list to check.
            _client.CheckCertificateRevocation = false;
        }

        await OpenAsync(validator, ct).ConfigureAwait(false);
        progress?.Invoke(ImapSession.ConnectedProgress);

        try
        {
            if (_asset.AuthType == AuthType.OAuth)
            {
                await LoginOAuthAsync(tokens, validator, ct).ConfigureAwait(false);
            }
            else
            {
                await LoginBasicAsync(ct).ConfigureAwait(false);
            }
        }
        catch (ImapFailureException ex) when (ex.Cause == ImapFailureCause.AuthenticationFailed && ImapFailureMapper.IsTooManyConnections(_replies.LastLine))
        {
            // MailKit says only "Authentication failed."; the server's own words say it was one connection too many.
            throw new ImapFailureException(ImapFailureCause.TooManyConnections,
                $"{_asset.Server}:{_asset.Port} refused one connection too many for user '{_asset.Username}': {_replies.LastLine}", ex);
        }

        progress?.Invoke(ImapSession.LoggedInProgress);
    }

    private async Task OpenAsync(CertificateValidator validator, CancellationToken ct)
    {
        var options = _asset.UseSsl ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls;
        try
        {
            await _client.ConnectAsync(_asset.Server, _asset.Port, options, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            throw _errors.MapConnectFailure(ex, validator);
        }
    }

    /// <summary>
    /// Checks the password once: AUTHENTICATE PLAIN when the server offers it, else the LOGIN command. MailKit on its own
    /// would try every mechanism the server offers and then LOGIN, so one refused password would count as three or more
    /// failed logins towards the account's lockout.
    /// </summary>
    private async Task LoginBasicAsync(CancellationToken ct)
    {
        var credential = new NetworkCredential(_asset.Username, CurrentPassword());
        if (_client.AuthenticationMechanisms.Contains("PLAIN"))
        {
            await _errors.RunAsync(() => _client.AuthenticateAsync(new SaslMechanismPlain(credential), ct), "logging in", ct).ConfigureAwait(false);
            return;
        }

        // With no SASL mechanism left, MailKit logs in with the LOGIN command alone.
        _client.AuthenticationMechanisms.Clear();
        await _errors.RunAsync(() => _client.AuthenticateAsync(credential, ct), "logging in", ct).ConfigureAwait(false);
    }

    private string CurrentPassword()
    {
        try
        {
            return _asset.Password?.Current() ?? string.Empty;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImapFailureException(ImapFailureCause.AuthenticationFailed,
                $"The password file of asset '{_asset.Name}' cannot be read: {ex.Message}", ex);
        }
    }

    private async Task LoginOAuthAsync(IAccessTokenProvider? tokens, CertificateValidator validator, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        for (var attempt = 0; ; attempt++)
        {
            var token = await GetTokenAsync(tokens, forceRefresh: attempt > 0, ct).ConfigureAwait(false);
            SaslMechanism mechanism = string.Equals(_asset.OAuth?.Mechanism, "OAUTHBEARER", StringComparison.OrdinalIgnoreCase)
                ? new SaslMechanismOAuthBearer(_asset.Username, token)
                : new SaslMechanismOAuth2(_asset.Username, token);
            try
            {
                if (!_client.IsConnected)
                {
                    await OpenAsync(validator, ct).ConfigureAwait(false);
                }

                await _errors.RunAsync(() => _client.AuthenticateAsync(mechanism, ct), "logging in", ct).ConfigureAwait(false);
                return;
            }
            catch (ImapFailureException ex) when (ex.Cause == ImapFailureCause.AuthenticationFailed && attempt == 0)
            {
                // An expired or revoked token looks like any rejected login: refresh once, then give up.
            }
        }
    }

    private async Task<string> GetTokenAsync(IAccessTokenProvider tokens, bool forceRefresh, CancellationToken ct)
    {
        try
        {
            var token = await tokens.GetAccessTokenAsync(forceRefresh, ct).ConfigureAwait(false);
            if (string.IsNullOrEmpty(token))
            {
                throw new ImapFailureException(ImapFailureCause.TokenUnavailable, $"No OAuth access token for user '{_asset.Username}'");
            }

            return token;
        }
        catch (OAuthEndpointUnreachableException ex)
        {
            // The identity provider being down is like the mail server being down: try again soon.
            throw new ImapFailureException(ImapFailureCause.TokenEndpointUnreachable, $"No OAuth access token for asset '{_asset.Name}': {ex.Message}", ex);
        }
        catch (OAuthException ex)
        {
            // Already says which asset and what to do (for a revoked grant: the command that signs in again).
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable, ex.Message, ex);
        }
        catch (Exception ex) when (ex is not ImapFailureException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            throw new ImapFailureException(ImapFailureCause.TokenUnavailable,
                $"No OAuth access token for user '{_asset.Username}': {ex.Message}", ex);
        }
    }
}
