namespace ImapActors.Mail.OAuth;

/// <summary>An OAuth token could not be obtained; the message names no token or secret.</summary>
public class OAuthException : Exception
{
    public OAuthException() : this("OAuth failure") { }

    public OAuthException(string message) : base(message) { }

    public OAuthException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>
/// The grant was refused for good (<c>invalid_grant</c>: the refresh token or code was revoked, expired or already
/// used), or no grant was ever stored: only a new sign-in (<c>imapactors oauth authorize</c>) helps.
/// </summary>
public sealed class OAuthGrantRevokedException : OAuthException
{
    public OAuthGrantRevokedException() : this("the OAuth grant was revoked or expired") { }

    public OAuthGrantRevokedException(string message) : base(message) { }

    public OAuthGrantRevokedException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The token endpoint could not be reached, timed out or answered with a server error; trying later may succeed.</summary>
public sealed class OAuthEndpointUnreachableException : OAuthException
{
    public OAuthEndpointUnreachableException() : this("the OAuth token endpoint is unreachable") { }

    public OAuthEndpointUnreachableException(string message) : base(message) { }

    public OAuthEndpointUnreachableException(string message, Exception? inner) : base(message, inner) { }
}
