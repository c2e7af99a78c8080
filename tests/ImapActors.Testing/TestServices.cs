namespace ImapActors.Testing;

/// <summary>
/// The external services tests run against, started on first use. The shared Dovecot comes from the
/// <c>IMAPACTORS_IMAP_*</c> variables (scripts/test.sh exports them), else from
/// <c>$IMAPACTORS_STATE/dovecot</c> through <c>scripts/dovecot.sh start</c>, which installs Dovecot when missing.
/// </summary>
public static class TestServices
{
    private static readonly Lazy<DovecotInstance> SharedDovecot = new(StartShared, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The Dovecot all tests share. Give each test its own user (<see cref="DovecotInstance.CreateUser"/>);
    /// never stop or kill this one: tests that do need <see cref="StartPrivateDovecot"/>.
    /// </summary>
    public static DovecotInstance Dovecot => SharedDovecot.Value;

    /// <summary>The repository's state folder (<c>IMAPACTORS_STATE</c>, default <c>.state</c> in the repository).</summary>
    public static string StateRoot =>
        Environment.GetEnvironmentVariable("IMAPACTORS_STATE") is { Length: > 0 } s ? s : Path.Combine(RepoPaths.Root, ".state");

    /// <summary>
    /// Starts (or reuses) a Dovecot of its own, with its own state folder and ports, for tests that stop,
    /// kill or restart the server, or that read what a client sent. Stop it when done.
    /// </summary>
    /// <param name="name">A short name, unique per test class (letters, digits and dashes).</param>
    /// <param name="production">
    /// Production-like settings: a refused login is answered after 2 s, and a user may hold 10 connections from one IP
    /// (see scripts/dovecot.sh); otherwise the test profile (no delay, 200 connections).
    /// </param>
    /// <param name="maxUserIpConnections">Connections a user may hold from one IP, instead of the profile's.</param>
    /// <param name="rawLog">
    /// Log every IMAP session's raw protocol (<c>IMAPACTORS_DOVECOT_RAWLOG</c>), read with
    /// <see cref="DovecotInstance.RawLog"/>; a running instance of that name is stopped first, since its configuration
    /// may lack the log. Without it, an instance keeps what it was started with.
    /// </param>
    /// <param name="noIdle">Leave IDLE out of the capabilities the server announces (<c>IMAPACTORS_DOVECOT_NO_IDLE</c>).</param>
    public static DovecotInstance StartPrivateDovecot(string name, bool production = false, int? maxUserIpConnections = null, bool rawLog = false,
        bool noIdle = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException("letters, digits and dashes only", nameof(name));
        }

        var stateRoot = Path.Combine(StateRoot, "private", name);
        var env = new Dictionary<string, string?>
        {
            ["IMAPACTORS_STATE"] = stateRoot,
            ["IMAPACTORS_IMAP_TLS_PORT"] = null,
            ["IMAPACTORS_IMAP_PLAIN_PORT"] = null,
            ["IMAPACTORS_DOVECOT_PROFILE"] = production ? "production" : "test",
            ["IMAPACTORS_DOVECOT_MAX_USERIP_CONNECTIONS"] = maxUserIpConnections?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            ["IMAPACTORS_DOVECOT_NO_IDLE"] = noIdle ? "1" : "",
        };
        if (rawLog)
        {
            env["IMAPACTORS_DOVECOT_RAWLOG"] = "1";
            DovecotScripts.Run(DovecotInstance.Script("dovecot.sh"), env, "stop");
        }

        var output = DovecotScripts.Run(DovecotInstance.Script("dovecot.sh"), env, "start");
        return new DovecotInstance(DovecotScripts.ParseExports(output), stateRoot);
    }

    private static DovecotInstance StartShared()
    {
        var fromEnvironment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { "IMAPACTORS_IMAP_HOST", "IMAPACTORS_IMAP_ALT_HOST", "IMAPACTORS_IMAP_TLS_PORT", "IMAPACTORS_IMAP_PLAIN_PORT", "IMAPACTORS_IMAP_CA", "IMAPACTORS_DOVECOT_CONF" })
        {
            if (Environment.GetEnvironmentVariable(key) is { Length: > 0 } value)
            {
                fromEnvironment[key] = value;
            }
        }

        if (fromEnvironment.ContainsKey("IMAPACTORS_IMAP_TLS_PORT") && fromEnvironment.ContainsKey("IMAPACTORS_DOVECOT_CONF"))
        {
            return new DovecotInstance(fromEnvironment, StateRoot);
        }

        // start is idempotent and prints the env: it also revives a server left stopped since the env file was written.
        var output = DovecotScripts.Run(DovecotInstance.Script("dovecot.sh"), new Dictionary<string, string?> { ["IMAPACTORS_STATE"] = StateRoot }, "start");
        return new DovecotInstance(DovecotScripts.ParseExports(output), StateRoot);
    }
}
