using System.Globalization;
using ImapActors.Domain;

namespace ImapActors.Testing;

/// <summary>A login on the test Dovecot.</summary>
public sealed record DovecotUser(string Name, string Password);

/// <summary>
/// One IMAP session in a server's raw protocol log: its log file's name, and the lines the client sent after login, in
/// order, without the server's timestamps (a command with its tag, or a literal's line).
/// </summary>
public sealed record RawLogSession(string Name, IReadOnlyList<string> Sent);

/// <summary>
/// A running private Dovecot started by <c>scripts/dovecot.sh</c>: its endpoints and helpers to add
/// users, load messages straight into maildirs, run doveadm, and kill or restart the server.
/// </summary>
public sealed class DovecotInstance
{
    private static readonly string[] MaildirSubfolders = ["cur", "new"];

    private readonly string _stateRoot;

    internal DovecotInstance(IReadOnlyDictionary<string, string> env, string stateRoot)
    {
        // The scripts find dovecot.conf, users and maildirs from the state root (the conf may sit behind a link).
        _stateRoot = stateRoot;
        Host = Get(env, "IMAPACTORS_IMAP_HOST");
        AltHost = env.TryGetValue("IMAPACTORS_IMAP_ALT_HOST", out var alt) && alt.Length > 0 ? alt : "127.0.0.2";
        TlsPort = int.Parse(Get(env, "IMAPACTORS_IMAP_TLS_PORT"), CultureInfo.InvariantCulture);
        PlainPort = int.Parse(Get(env, "IMAPACTORS_IMAP_PLAIN_PORT"), CultureInfo.InvariantCulture);
        CaFile = Get(env, "IMAPACTORS_IMAP_CA");
        ConfPath = Get(env, "IMAPACTORS_DOVECOT_CONF");
    }

    /// <summary>The address the server listens on and its certificate names (127.0.0.1).</summary>
    public string Host { get; }

    /// <summary>
    /// A second loopback address the server also listens on (127.0.0.2). Its certificate does not name it,
    /// and Dovecot does not count it as a secure connection, so LOGIN before STARTTLS is refused there.
    /// </summary>
    public string AltHost { get; }

    /// <summary>The implicit-TLS port.</summary>
    public int TlsPort { get; }

    /// <summary>The plain port that offers STARTTLS.</summary>
    public int PlainPort { get; }

    /// <summary>The server's self-signed certificate as a PEM file, to use as the CA file.</summary>
    public string CaFile { get; }

    /// <summary>The generated dovecot.conf, for <c>doveadm -c</c>.</summary>
    public string ConfPath { get; }

    /// <summary>The server's log (logins, refusals, errors), beside its configuration.</summary>
    public string LogPath => Path.Combine(Path.GetDirectoryName(ConfPath)!, "dovecot.log");

    /// <summary>The lines of <see cref="LogPath"/> that mention <paramref name="user"/> (as <c>user=&lt;name&gt;</c>, <c>(name,</c> or <c>(name)</c>).</summary>
    public IReadOnlyList<string> LogLinesOf(string user)
    {
        if (!File.Exists(LogPath))
        {
            return [];
        }

        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains($"user=<{user}>", StringComparison.Ordinal) || line.Contains($"({user},", StringComparison.Ordinal)
                || line.Contains($"({user})", StringComparison.Ordinal))
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    /// <summary>Adds (or replaces) a user; the running server accepts it at once.</summary>
    public DovecotUser AddUser(string name, string password)
    {
        RunDovecotScript("adduser", name, password);
        return new DovecotUser(name, password);
    }

    /// <summary>Adds a user with a unique name (<c>t-</c> and 8 hex digits) so parallel tests never share a mailbox.</summary>
    public DovecotUser CreateUser(string prefix = "t") =>
        AddUser($"{prefix}-{Guid.NewGuid().ToString("N")[..8]}", "pw-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>
    /// Writes messages straight into <paramref name="folder"/> of <paramref name="user"/> (created when missing)
    /// with <c>scripts/load-mailbox.sh</c>; they get UIDs in the order given and no flags.
    /// </summary>
    /// <returns>How many messages were loaded.</returns>
    public int LoadMessages(string user, string folder, IEnumerable<byte[]> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);

        // One bundle file instead of one file per message: creating and deleting thousands of files from
        // .NET costs seconds on some file systems, the script's single perl process does not.
        var bundle = Path.Combine(Path.GetTempPath(), $"imapactors-load-{Guid.NewGuid():N}.bundle");
        try
        {
            var n = 0;
            using (var file = new FileStream(bundle, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                foreach (var message in messages)
                {
                    file.Write(System.Text.Encoding.ASCII.GetBytes(message.Length.ToString(CultureInfo.InvariantCulture) + "\n"));
                    file.Write(message);
                    n++;
                }
            }

            if (n > 0)
            {
                DovecotScripts.Run(Script("load-mailbox.sh"), ScriptEnvironment(), user, folder, "--framed", bundle);
            }

            return n;
        }
        finally
        {
            File.Delete(bundle);
        }
    }

    /// <summary>Runs <c>doveadm -c ConfPath args…</c> and returns its standard output.</summary>
    /// <exception cref="InvalidOperationException">doveadm failed; the message holds its error output.</exception>
    public string Doveadm(params string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return DovecotScripts.RunProgram("doveadm", ScriptEnvironment(), ["-c", ConfPath, .. args]);
    }

    /// <summary>
    /// Ends every session of <paramref name="user"/> (<c>doveadm kick</c>); false when it had none open, which doveadm
    /// reports with exit status 68 ("No users kicked").
    /// </summary>
    public bool Kick(string user)
    {
        const int NoneKicked = 68;
        return DovecotScripts.RunProgram("doveadm", ScriptEnvironment(), ["-c", ConfPath, "kick", user], [NoneKicked]).Exit == 0;
    }

    /// <summary>
    /// What the client sent in each IMAP session of <paramref name="user"/>, oldest first, on a server started with its raw
    /// protocol log (<see cref="TestServices.StartPrivateDovecot"/>); empty otherwise. A session still open may not be
    /// written out to its end yet.
    /// </summary>
    public IReadOnlyList<RawLogSession> RawLog(string user)
    {
        // Dovecot writes the files into the user's home, named YYYYMMDD-HHMMSS.PID.N.in, each line "SECONDS.MICROS text".
        var home = Doveadm("user", "-f", "home", user).Trim();
        if (!Directory.Exists(home))
        {
            return [];
        }

        var sessions = new List<(decimal Started, RawLogSession Session)>();
        foreach (var file in Directory.GetFiles(home, "*.in"))
        {
            var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
            var stamps = lines.Select(l => l.Split(' ', 2)).ToList();
            var started = stamps.Count > 0 && decimal.TryParse(stamps[0][0], NumberStyles.Number, CultureInfo.InvariantCulture, out var s) ? s : 0;
            sessions.Add((started, new RawLogSession(Path.GetFileName(file), stamps.Select(p => p.Length > 1 ? p[1] : "").ToList())));
        }

        return sessions.OrderBy(s => s.Started).ThenBy(s => s.Session.Name, StringComparer.Ordinal).Select(s => s.Session).ToList();
    }

    /// <summary>Sets a folder's UIDVALIDITY (<c>doveadm mailbox update --uid-validity</c>), as a server rebuild would.</summary>
    public void SetUidValidity(string user, string folder, uint uidValidity) =>
        Doveadm("mailbox", "update", "--uid-validity", uidValidity.ToString(CultureInfo.InvariantCulture), "-u", user, folder);

    /// <summary>
    /// Makes the message of <paramref name="uid"/> one the server cannot serve: its maildir file gets mode 000, which
    /// Dovecot's mail processes (user <c>vmail</c>) cannot read, while its index still lists the message, so
    /// <c>UID SEARCH</c> finds it and any <c>UID FETCH</c> of its body fails (by default Dovecot answers
    /// <c>* BYE FETCH failed: Internal error occurred...</c> and closes the session). Undone by <see cref="MakeServable"/>.
    /// </summary>
    /// <returns>The maildir file's path.</returns>
    public string MakeUnservable(string user, string folder, uint uid)
    {
        var file = MaildirFile(user, folder, uid);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Dovecot runs on Unix only");
        }

        File.SetUnixFileMode(file, UnixFileMode.None);
        return file;
    }

    /// <summary>Gives the maildir file of <paramref name="uid"/> back the mode Dovecot writes (0600): the server serves it again.</summary>
    public void MakeServable(string user, string folder, uint uid)
    {
        var file = MaildirFile(user, folder, uid);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Dovecot runs on Unix only");
        }

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// The maildir file of a message: for maildir, Dovecot's GUID of a message is its file's base name (the name before
    /// <c>:2,</c> and the flags), in the folder's <c>cur/</c> or <c>new/</c>.
    /// </summary>
    private string MaildirFile(string user, string folder, uint uid)
    {
        var uidText = uid.ToString(CultureInfo.InvariantCulture);
        var guid = Doveadm("fetch", "-u", user, "guid", "mailbox", folder, "uid", uidText).Trim();
        guid = guid.StartsWith("guid:", StringComparison.Ordinal) ? guid["guid:".Length..].Trim() : guid;
        if (guid.Length == 0)
        {
            throw new InvalidOperationException($"No message with UID {uid} in folder '{folder}' of {user}");
        }

        var path = Doveadm("mailbox", "path", "-u", user, folder).Trim();
        var file = MaildirSubfolders
            .Select(sub => Path.Combine(path, sub))
            .Where(System.IO.Directory.Exists)
            .SelectMany(System.IO.Directory.EnumerateFiles)
            .FirstOrDefault(f => Path.GetFileName(f) is var name && (name == guid || name.StartsWith(guid + ":", StringComparison.Ordinal)));
        return file ?? throw new InvalidOperationException($"No maildir file named {guid} under {path} (UID {uid} of '{folder}' of {user})");
    }

    /// <summary>Kills the master and every Dovecot process with SIGKILL, then starts again on the same ports.</summary>
    public void KillAndRestart() => RunDovecotScript("restart-hard");

    /// <summary>Stops the server and ends its open sessions.</summary>
    public void Stop() => RunDovecotScript("stop");

    /// <summary>Starts the server on its remembered ports; does nothing when it runs.</summary>
    public void Start() => RunDovecotScript("start");

    /// <summary>
    /// Settings for an asset that logs in as <paramref name="user"/>: implicit TLS on <see cref="TlsPort"/>
    /// or STARTTLS on <see cref="PlainPort"/>, the server certificate trusted through <see cref="CaFile"/>.
    /// </summary>
    public AssetSettings Asset(DovecotUser user, bool useSsl = true, params string[] folders)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new AssetSettings
        {
            Name = new AssetName("dovecot-" + user.Name),
            Server = Host,
            Port = useSsl ? TlsPort : PlainPort,
            UseSsl = useSsl,
            CaFile = CaFile,
            Username = user.Name,
            Password = new Secret(user.Password),
            Folders = folders is { Length: > 0 } ? folders.Select(f => new FolderName(f)).ToList() : [new FolderName("INBOX")],
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    private void RunDovecotScript(params string[] args) => DovecotScripts.Run(Script("dovecot.sh"), ScriptEnvironment(), args);

    private Dictionary<string, string?> ScriptEnvironment()
    {
        // The script must find the same state dir and ports this instance was started with.
        return new Dictionary<string, string?>
        {
            ["IMAPACTORS_STATE"] = _stateRoot,
            ["IMAPACTORS_IMAP_TLS_PORT"] = TlsPort.ToString(CultureInfo.InvariantCulture),
            ["IMAPACTORS_IMAP_PLAIN_PORT"] = PlainPort.ToString(CultureInfo.InvariantCulture),
        };
    }

    internal static string Script(string name) => Path.Combine(RepoPaths.Root, "scripts", name);

    private static string Get(IReadOnlyDictionary<string, string> env, string key) =>
        env.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new InvalidOperationException($"{key} is not set by scripts/dovecot.sh env");
}
