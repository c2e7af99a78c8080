namespace ImapActors.Domain;

/// <summary>How an asset logs in.</summary>
public enum AuthType
{
    Basic,
    OAuth,
}

/// <summary>Which end of a folder a poll takes first when it cannot take everything.</summary>
public enum IngestManner
{
    OldestFirst,
    LatestFirst,
}

/// <summary>A secret value (password, client secret) that never prints itself.</summary>
/// <param name="Value">The value when the configuration was loaded.</param>
public sealed record Secret(string Value)
{
    /// <summary>The file the value came from (<c>password_file</c> and the like), or null.</summary>
    public string? File { get; init; }

    /// <summary>
    /// The value now: read again from <see cref="File"/> when there is one (a rotated password is used at the next login
    /// without a restart), else <see cref="Value"/>. A trailing line break is not part of the value.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public string Current() => File is null ? Value : FromFileText(System.IO.File.ReadAllText(File));

    /// <summary>A secret file's text without its trailing line break.</summary>
    public static string FromFileText(string text) =>
        text.EndsWith("\r\n", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('\n') ? text[..^1] : text;

    public override string ToString() => "***";
}

/// <summary>Limits that keep one hostile message from taking the engine down. Over a limit, the message still becomes a container.</summary>
public sealed record ExtractionLimits
{
    public int MaxMimeDepth { get; init; } = 32;
    public int MaxParts { get; init; } = 2_000;
    public long MaxDecodedBytes { get; init; } = 256L * 1024 * 1024;
    public long MaxScannedTextBytes { get; init; } = 16L * 1024 * 1024;
    public int MaxArtifacts { get; init; } = 10_000;
    public TimeSpan MaxTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>One header field (with its folded lines) beyond this is cut before the MIME parser sees it.</summary>
    public int MaxHeaderFieldBytes { get; init; } = 256 * 1024;

    /// <summary>The header bytes of the message and all its parts together; fields beyond are left out.</summary>
    public long MaxHeaderBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>The header fields of the message and all its parts together; fields beyond are left out.</summary>
    public int MaxHeaderFields { get; init; } = 20_000;

    /// <summary>The bytes of all preambles and epilogues together (the parser keeps them as text); lines beyond are left out.</summary>
    public long MaxPreambleBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// A part that must be decoded whole before it can be opened (TNEF) is opened only up to this size; a larger one is
    /// still stored in the vault.
    /// </summary>
    public long MaxBufferedPartBytes { get; init; } = 32L * 1024 * 1024;
}

/// <summary>The asset's extraction switches (the reference's names) and limits.</summary>
public sealed record ExtractionSettings
{
    public bool ExtractAttachments { get; init; } = true;
    public bool ExtractUrls { get; init; } = true;
    public bool ExtractIps { get; init; } = true;
    public bool ExtractDomains { get; init; } = true;
    public bool ExtractHashes { get; init; } = true;
    public bool AddBodyToHeaderArtifacts { get; init; }

    /// <summary>Hash source data identifiers with SHA-256 instead of MD5, as the reference does on FIPS platforms.</summary>
    public bool Fips { get; init; }

    public ExtractionLimits Limits { get; init; } = new();

    public static ExtractionSettings Default { get; } = new();
}

/// <summary>OAuth 2.0 settings of an asset (the reference's keys plus a Microsoft preset).</summary>
public sealed record OAuthSettings
{
    public string Provider { get; init; } = "google";
    public string? ClientId { get; init; }
    public Secret? ClientSecret { get; init; }
    public string AuthUrl { get; init; } = "https://accounts.google.com/o/oauth2/auth";
    public string TokenUrl { get; init; } = "https://oauth2.googleapis.com/token";
    public IReadOnlyList<string> Scopes { get; init; } = ["https://mail.google.com/"];
    public string? Tenant { get; init; }

    /// <summary>SASL mechanism: XOAUTH2 (default) or OAUTHBEARER.</summary>
    public string Mechanism { get; init; } = "XOAUTH2";

    /// <summary>authorization_code (a user signs in once) or client_credentials (Microsoft 365 app-only).</summary>
    public string GrantType { get; init; } = "authorization_code";

    public int RedirectPort { get; init; } = 8765;
}

/// <summary>Delays between attempts after failures in a row: <paramref name="Min"/> doubled at each one, at most <paramref name="Max"/>.</summary>
public sealed record RetrySchedule(TimeSpan Min, TimeSpan Max);

/// <summary>One configured asset: a server, a login and the folders to ingest.</summary>
public sealed record AssetSettings
{
    public required AssetName Name { get; init; }
    public required string Server { get; init; }
    public int Port { get; init; } = 993;
    public bool UseSsl { get; init; } = true;
    public bool VerifyServerCert { get; init; } = true;

    /// <summary>A PEM file of extra trusted certificate authorities (a private CA or a self-signed server certificate).</summary>
    public string? CaFile { get; init; }

    public AuthType AuthType { get; init; } = AuthType.Basic;
    public required string Username { get; init; }
    public Secret? Password { get; init; }
    public OAuthSettings? OAuth { get; init; }
    public IReadOnlyList<FolderName> Folders { get; init; } = [new FolderName("inbox")];
    public IngestManner IngestManner { get; init; } = IngestManner.OldestFirst;
    public int FirstRunMaxEmails { get; init; } = 2000;
    public int MaxEmails { get; init; } = 100;
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Wait in IDLE between polls when the server offers it, and poll as soon as it announces new mail; a poll still
    /// runs every <see cref="PollInterval"/> to reconcile.
    /// </summary>
    public bool Idle { get; init; } = true;

    /// <summary>IMAP connections the asset's folders share (each folder polls or idles on one at a time).</summary>
    public int MaxConnections { get; init; } = 4;

    public string Label { get; init; } = "imap";
    public ExtractionSettings Extraction { get; init; } = ExtractionSettings.Default;

    /// <summary>Time allowed for connecting and for each IMAP command.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Delays before a mailbox tries again after failures that may pass by themselves (network, timeouts, server errors):
    /// 1 s doubled at each failure in a row, up to 5 min.
    /// </summary>
    public RetrySchedule Retry { get; init; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    /// <summary>
    /// Delays after failures that need a person (a refused login, an untrusted certificate, a missing folder): 30 s
    /// doubled at each failure in a row, up to 30 min, so a wrong password costs a handful of checks an hour, not thousands.
    /// </summary>
    public RetrySchedule LoginRetry { get; init; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30));

    /// <summary>The destinations (<see cref="EngineSettings.Destinations"/>) each new container of the asset is delivered to.</summary>
    public IReadOnlyList<string> DeliverTo { get; init; } = [];

    /// <summary>The asset's id in Splunk SOAR, sent as each container's <c>asset_id</c>; required to deliver to a SOAR destination.</summary>
    public int? SoarAssetId { get; init; }

    public IEnumerable<MailboxId> Mailboxes => Folders.Select(f => new MailboxId(Name, f));
}

/// <summary>Which database holds containers and the actors' journal.</summary>
public enum StorageProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>The store's provider and connection string.</summary>
public sealed record StorageSettings(StorageProvider Provider, string ConnectionString);

/// <summary>Where the vault keeps attachments and raw emails.</summary>
public enum VaultStore
{
    /// <summary>A folder (<see cref="EngineSettings.VaultPath"/>).</summary>
    File,

    /// <summary>The store's database, beside the containers.</summary>
    Database,
}

/// <summary><c>imapactors.vault</c> but its path (<see cref="EngineSettings.VaultPath"/>).</summary>
public sealed record VaultSettings
{
    public VaultStore Store { get; init; } = VaultStore.File;

    /// <summary>
    /// The operator's word that the vault folder is one folder shared by every node of the cluster (NFS and the like);
    /// without it a clustered node refuses a folder vault.
    /// </summary>
    public bool Shared { get; init; }
}

/// <summary>
/// The node-wide bounds on emails fetched and not yet settled (committed, quarantined or gone), across every mailbox of
/// the process; each mailbox also keeps at most two batches of its own in flight.
/// </summary>
public sealed record AdmissionSettings
{
    /// <summary>
    /// Emails in flight. 400 is about a quarter of a second of parse and extract work on two cores at 5 KB a message:
    /// enough to keep both cores busy across fetches and commits, four batches of the default fetch size.
    /// </summary>
    public int MaxEmails { get; init; } = 400;

    /// <summary>
    /// Bytes (RFC822.SIZE) in flight. 256 MiB keeps the raw bytes, and the two to three times more that parsing and
    /// extraction make of them, within about 1 GiB on a 2-core node, while 400 emails of 600 KB or a 250 MB message
    /// still pass.
    /// </summary>
    public long MaxBytes { get; init; } = 256L * 1024 * 1024;
}

/// <summary>Everything the engine reads from its configuration file.</summary>
public sealed record EngineSettings
{
    public required StorageSettings Storage { get; init; }
    /// <summary>The folder of the file vault; unused when <see cref="Vault"/> keeps files in the database.</summary>
    public required string VaultPath { get; init; }

    public required IReadOnlyList<AssetSettings> Assets { get; init; }

    /// <summary>Which vault keeps the files; a folder by default.</summary>
    public VaultSettings Vault { get; init; } = new();

    /// <summary>Attempts for a message that fails to parse, extract or store before it is quarantined.</summary>
    public int PoisonMaxAttempts { get; init; } = 3;

    /// <summary>Messages per UID FETCH command.</summary>
    public int FetchBatchSize { get; init; } = 100;

    /// <summary>Messages above this size are fetched to a temporary file in chunks instead of into memory.</summary>
    public long LargeMessageBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary>Parser and extractor pool sizes; 0 means one per core.</summary>
    public int ParserPoolSize { get; init; }

    public int ExtractorPoolSize { get; init; }

    /// <summary>On SIGTERM/SIGINT, how long the batches in flight may take to commit before the engine stops anyway.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The node-wide admission gate's bounds.</summary>
    public AdmissionSettings Admission { get; init; } = new();

    /// <summary>Cluster membership; off by default (one node, as before).</summary>
    public ClusterSettings Cluster { get; init; } = new();

    /// <summary>The HTTP API, health, metrics and console that <c>run</c> serves; off by default.</summary>
    public HttpSettings Http { get; init; } = new();

    /// <summary>The keys that may call the HTTP API, by name (<c>imapactors.api-keys</c>).</summary>
    public IReadOnlyList<ApiKeySettings> ApiKeys { get; init; } = [];

    /// <summary>Where containers are delivered (<c>imapactors.destinations</c>), by name.</summary>
    public IReadOnlyList<DestinationSettings> Destinations { get; init; } = [];
}

/// <summary><c>imapactors.http</c>: whether <c>run</c> serves the HTTP API and console, where, and over TLS or not.</summary>
public sealed record HttpSettings
{
    public bool Enabled { get; init; }

    /// <summary>The IP address (or <c>localhost</c>) to listen on.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>The port; 0 takes any free port (the log says which).</summary>
    public int Port { get; init; } = 8484;

    /// <summary>A PEM certificate (with <see cref="TlsKeyFile"/>) or a PKCS#12 file; null serves plain HTTP.</summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificateFile"/>; null for a PKCS#12 file or a PEM holding both.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key.</summary>
    public Secret? TlsPassword { get; init; }

    /// <summary>Whether <c>/metrics</c> needs an API key with the <c>read</c> scope.</summary>
    public bool MetricsRequireKey { get; init; }

    /// <summary>The API's address as receivers reach it (https://ingest.example.org:8484), for links in webhooks; null: paths only.</summary>
    public Uri? PublicUrl { get; init; }
}

/// <summary>What an API key may do: <c>read</c> (lists, containers, files) and <c>act</c> (the actions, retries).</summary>
[Flags]
public enum ApiScopes
{
    None = 0,
    Read = 1,
    Act = 2,
}

/// <summary>One key of <c>imapactors.api-keys</c>: its name (for logs and the console), the key, and its scopes.</summary>
public sealed record ApiKeySettings(string Name, Secret Key, ApiScopes Scopes);

/// <summary>
/// <c>imapactors.cluster</c>: whether this node joins a cluster, where it listens, and the seed nodes (host:port) every
/// node of the cluster is configured with.
/// </summary>
public sealed record ClusterSettings
{
    public bool Enabled { get; init; }

    /// <summary>The host name or IP address this node listens on and is known by.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 4053;

    /// <summary>host:port of each seed node.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>The members that must be up before the mailboxes start (Akka's min-nr-of-members).</summary>
    public int MinMembers { get; init; } = 1;

    /// <summary>
    /// How the node that ingested a container is named on it: host:port when clustered, the machine's name otherwise.
    /// </summary>
    public string NodeName => Enabled ? $"{Hostname}:{Port}" : Environment.MachineName;

    public bool Equals(ClusterSettings? other) =>
        other is not null && Enabled == other.Enabled && Hostname == other.Hostname && Port == other.Port &&
        MinMembers == other.MinMembers && SeedNodes.SequenceEqual(other.SeedNodes);

    public override int GetHashCode() => HashCode.Combine(Enabled, Hostname, Port, SeedNodes.Count);
}
