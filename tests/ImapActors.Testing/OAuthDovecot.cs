namespace ImapActors.Testing;

/// <summary>Private Dovecot instances that also accept XOAUTH2 and OAUTHBEARER, checked against a test introspection endpoint.</summary>
public static class OAuthDovecot
{
    /// <summary>
    /// Starts a private Dovecot (as <see cref="TestServices.StartPrivateDovecot"/>) whose oauth2 passdb asks
    /// <paramref name="introspectionUrl"/>. A running instance of that name is stopped first, since its configuration
    /// names an older URL. Stop it when done.
    /// </summary>
    public static DovecotInstance Start(string name, string introspectionUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("letters, digits and dashes only", nameof(name));
        }

        var stateRoot = Path.Combine(TestServices.StateRoot, "private", name);
        var env = new Dictionary<string, string?>
        {
            ["IMAPACTORS_STATE"] = stateRoot,
            ["IMAPACTORS_IMAP_TLS_PORT"] = null,
            ["IMAPACTORS_IMAP_PLAIN_PORT"] = null,
            ["IMAPACTORS_OAUTH2_INTROSPECTION_URL"] = introspectionUrl,
        };
        var script = DovecotInstance.Script("dovecot.sh");
        DovecotScripts.Run(script, env, "stop");
        var output = DovecotScripts.Run(script, env, "start");
        return new DovecotInstance(DovecotScripts.ParseExports(output), stateRoot);
    }
}
