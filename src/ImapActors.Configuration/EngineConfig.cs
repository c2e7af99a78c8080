using System.Data.Common;
using System.Globalization;
using System.Net;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using ImapActors.Domain;

namespace ImapActors.Configuration;

/// <summary>Loads and validates the engine's HOCON configuration (see <c>hocon/imapactors.defaults.conf</c>).</summary>
public static partial class EngineConfig
{
    private static readonly string[] RootKeys = ["imapactors"];

    // Each section's keys, declared once; the order is the order of reading and of "did you mean" ties.
    private static readonly SectionTable<TopSection> TopTable = new SectionTable<TopSection>()
        .Section("storage")
        .Section("vault")
        .Bool("fips", t => t.Fips, (t, v) => t with { Fips = v })
        .Section("engine")
        .Section("cluster")
        .Section("http")
        .Section("api-keys")
        .Section("destinations")
        .Section("asset-defaults")
        .Section("oauth-providers")
        .Section("oauth")
        .Section("assets");

    private static readonly SectionTable<StorageSection> StorageTable = new SectionTable<StorageSection>()
        .OneOf("provider", [("sqlite", StorageProvider.Sqlite), ("postgresql", StorageProvider.PostgreSql)],
            (s, v) => s with { Provider = v })
        // A literal connection string is fine for SQLite (a path) but not when it carries a password.
        .Secret("connection-string", "connection-string-env", "connection-string-file", required: true,
            literalIsSecret: Loader.HasPassword, (s, v) => s with { ConnectionString = v });

    private static readonly SectionTable<VaultSection> VaultTable = new SectionTable<VaultSection>()
        .OneOf("store", [("file", VaultStore.File), ("database", VaultStore.Database)], s => s.Vault.Store,
            (s, v) => s with { Vault = s.Vault with { Store = v } })
        .String("path", required: true, (s, v) => s with { Path = v })
        .Bool("shared", s => s.Vault.Shared, (s, v) => s with { Vault = s.Vault with { Shared = v } });

    private static readonly SectionTable<EngineSettings> EngineTable = new SectionTable<EngineSettings>()
        .PositiveInt("poison-max-attempts", s => s.PoisonMaxAttempts, (s, v) => s with { PoisonMaxAttempts = v })
        .PositiveInt("fetch-batch-size", s => s.FetchBatchSize, (s, v) => s with { FetchBatchSize = v })
        .Size("large-message-bytes", s => s.LargeMessageBytes, (s, v) => s with { LargeMessageBytes = v })
        .NonNegativeInt("parser-pool-size", s => s.ParserPoolSize, (s, v) => s with { ParserPoolSize = v })
        .NonNegativeInt("extractor-pool-size", s => s.ExtractorPoolSize, (s, v) => s with { ExtractorPoolSize = v })
        .Duration("shutdown-timeout", s => s.ShutdownTimeout, (s, v) => s with { ShutdownTimeout = v })
        .Section("limits")
        .Section("admission");

    private static readonly SectionTable<AdmissionSettings> AdmissionTable = new SectionTable<AdmissionSettings>()
        .PositiveInt("max-emails", s => s.MaxEmails, (s, v) => s with { MaxEmails = v })
        .Size("max-bytes", s => s.MaxBytes, (s, v) => s with { MaxBytes = v });

    private static readonly SectionTable<ExtractionLimits> LimitsTable = new SectionTable<ExtractionLimits>()
        .PositiveInt("max-mime-depth", s => s.MaxMimeDepth, (s, v) => s with { MaxMimeDepth = v })
        .PositiveInt("max-parts", s => s.MaxParts, (s, v) => s with { MaxParts = v })
        .Size("max-decoded-bytes", s => s.MaxDecodedBytes, (s, v) => s with { MaxDecodedBytes = v })
        .Size("max-scanned-text-bytes", s => s.MaxScannedTextBytes, (s, v) => s with { MaxScannedTextBytes = v })
        .PositiveInt("max-artifacts", s => s.MaxArtifacts, (s, v) => s with { MaxArtifacts = v })
        .Duration("max-time", s => s.MaxTime, (s, v) => s with { MaxTime = v })
        .Size("max-header-field-bytes", s => s.MaxHeaderFieldBytes, (s, v) => s with { MaxHeaderFieldBytes = (int)Math.Min(v, int.MaxValue) })
        .Size("max-header-bytes", s => s.MaxHeaderBytes, (s, v) => s with { MaxHeaderBytes = v })
        .PositiveInt("max-header-fields", s => s.MaxHeaderFields, (s, v) => s with { MaxHeaderFields = v })
        .Size("max-preamble-bytes", s => s.MaxPreambleBytes, (s, v) => s with { MaxPreambleBytes = v })
        .Size("max-buffered-part-bytes", s => s.MaxBufferedPartBytes, (s, v) => s with { MaxBufferedPartBytes = v });

    private static readonly SectionTable<ClusterSettings> ClusterTable = new SectionTable<ClusterSettings>()
        .Bool("enabled", c => c.Enabled, (c, v) => c with { Enabled = v })
        .String("hostname", c => c.Hostname, (c, v) => c with { Hostname = v })
        .Port("port", c => c.Port, (c, v) => c with { Port = v })
        .StringList("seed-nodes", c => c.SeedNodes, (c, v) => c with { SeedNodes = v })
        .PositiveInt("min-members", c => c.MinMembers, (c, v) => c with { MinMembers = v });

    private static readonly SectionTable<HttpSettings> HttpTable = new SectionTable<HttpSettings>()
        .Bool("enabled", h => h.Enabled, (h, v) => h with { Enabled = v })
        .String("bind", h => h.Bind, (h, v) => h with { Bind = v })
        .ListenPort("port", h => h.Port, (h, v) => h with { Port = v })
        .Bool("metrics-require-key", h => h.MetricsRequireKey, (h, v) => h with { MetricsRequireKey = v })
        .ReadByLoader("public-url")
        .Section("tls");

    private static readonly string[] TlsKeys = ["certificate-file", "key-file", "password", "password_env", "password_file"];
    private static readonly string[] ApiKeyKeys = ["key", "key_env", "key_file", "scopes"];

    private static readonly string[] WebhookOnlyKeys = ["secret", "secret_env", "secret_file"];
    private static readonly string[] SoarOnlyKeys = ["token", "token_env", "token_file", "label", "severity"];

    // A destination's keys; type, url and the secrets are read by hand, the rest from this table over the record's defaults.
    private static readonly SectionTable<DestinationSettings> DestinationTable = new SectionTable<DestinationSettings>()
        .ReadByLoader("type", "url", "token", "token_env", "token_file", "secret", "secret_env", "secret_file", "ca_file", "label", "severity")
        .Bool("verify_server_cert", d => d.VerifyServerCert, (d, v) => d with { VerifyServerCert = v })
        .PositiveInt("max_attempts", d => d.MaxAttempts, (d, v) => d with { MaxAttempts = v })
        .PositiveInt("concurrency", d => d.Concurrency, (d, v) => d with { Concurrency = v })
        .Duration("timeout", d => d.Timeout, (d, v) => d with { Timeout = v })
        .Duration("retry_min", d => d.Retry.Min, (d, v) => d with { Retry = d.Retry with { Min = v } })
        .Duration("retry_max", d => d.Retry.Max, (d, v) => d with { Retry = d.Retry with { Max = v } });

    /// <summary>The shortest API key accepted: 16 characters, 96 bits or more from any generator worth using.</summary>
    public const int MinimumApiKeyLength = 16;

    /// <summary>
    /// The cluster keys an environment variable sets over the file, so every node reads the same file and each says
    /// only where it listens.
    /// </summary>
    internal static IReadOnlyDictionary<string, string> ClusterEnvironmentOverrides { get; } = new Dictionary<string, string>
    {
        ["hostname"] = "IMAPACTORS_CLUSTER_HOSTNAME",
        ["port"] = "IMAPACTORS_CLUSTER_PORT",
    };

    private static readonly SectionTable<OAuthStoreSection> OAuthStoreTable = new SectionTable<OAuthStoreSection>()
        .OneOf("store", [("file", TokenStoreKind.File), ("database", TokenStoreKind.Database)], (s, v) => s with { Store = v })
        .String("token-store", required: false, (s, v) => s with { TokenStore = v })
        // Optional here: only OAuth assets with the authorization_code grant need it, and the engine says so at start.
        .Secret("key", "key_env", "key_file", required: false, literalIsSecret: _ => true, (s, v) => s with { Key = v });

    // What a section reads before it becomes (part of) a settings record: these records have no defaults of their own,
    // the documented file's values arrive through its layer.
    private sealed record TopSection(bool Fips);

    private sealed record StorageSection(StorageProvider? Provider, Secret? ConnectionString);

    private sealed record VaultSection(string? Path, VaultSettings Vault);

    private sealed record OAuthStoreSection(TokenStoreKind? Store, string? TokenStore, Secret? Key);

    private static readonly string[] ProviderKeys = ["auth_url", "token_url", "scopes", "app_scopes", "tenant"];
    private static readonly string[] SqliteFileKeys = ["Data Source", "DataSource", "Filename"];
    private static readonly string[] PasswordKeys = ["Password", "Pwd", "Psw"];
    private static readonly string[] CommonTenants = ["common", "organizations", "consumers"];

    // The SOAR app's asset keys, in its order. The keys read by hand come before the table's in the problems listed: the
    // table's are applied last, on top of what the loader worked out.
    private static readonly SectionTable<AssetSettings> AssetTable = new SectionTable<AssetSettings>()
        .ReadByLoader("server", "port", "use_ssl")
        .Bool("verify_server_cert", a => a.VerifyServerCert, (a, v) => a with { VerifyServerCert = v })
        .ReadByLoader("ca_file", "auth_type", "username", "password", "password_env", "password_file", "folder", "folders", "ingest_manner")
        .PositiveInt("first_run_max_emails", a => a.FirstRunMaxEmails, (a, v) => a with { FirstRunMaxEmails = v })
        .PositiveInt("max_emails", a => a.MaxEmails, (a, v) => a with { MaxEmails = v })
        .Duration("poll_interval", a => a.PollInterval, (a, v) => a with { PollInterval = v })
        .Bool("idle", a => a.Idle, (a, v) => a with { Idle = v })
        .PositiveInt("max_connections", a => a.MaxConnections, (a, v) => a with { MaxConnections = v })
        .Duration("timeout", a => a.Timeout, (a, v) => a with { Timeout = v })
        .Duration("retry_min", a => a.Retry.Min, (a, v) => a with { Retry = a.Retry with { Min = v } })
        .Duration("retry_max", a => a.Retry.Max, (a, v) => a with { Retry = a.Retry with { Max = v } })
        .Duration("login_retry_min", a => a.LoginRetry.Min, (a, v) => a with { LoginRetry = a.LoginRetry with { Min = v } })
        .Duration("login_retry_max", a => a.LoginRetry.Max, (a, v) => a with { LoginRetry = a.LoginRetry with { Max = v } })
        .StringList("deliver_to", a => a.DeliverTo, (a, v) => a with { DeliverTo = v })
        .ReadByLoader("soar_asset_id")
        .String("label", a => a.Label, (a, v) => a with { Label = v })
        .Bool("extract_attachments", a => a.Extraction.ExtractAttachments, (a, v) => a with { Extraction = a.Extraction with { ExtractAttachments = v } })
        .Bool("extract_urls", a => a.Extraction.ExtractUrls, (a, v) => a with { Extraction = a.Extraction with { ExtractUrls = v } })
        .Bool("extract_ips", a => a.Extraction.ExtractIps, (a, v) => a with { Extraction = a.Extraction with { ExtractIps = v } })
        .Bool("extract_domains", a => a.Extraction.ExtractDomains, (a, v) => a with { Extraction = a.Extraction with { ExtractDomains = v } })
        .Bool("extract_hashes", a => a.Extraction.ExtractHashes, (a, v) => a with { Extraction = a.Extraction with { ExtractHashes = v } })
        .Bool("add_body_to_header_artifacts", a => a.Extraction.AddBodyToHeaderArtifacts,
            (a, v) => a with { Extraction = a.Extraction with { AddBodyToHeaderArtifacts = v } })
        .ReadByLoader("client_id", "client_secret", "client_secret_env", "client_secret_file", "provider", "auth_url", "token_url", "scopes",
            "tenant", "oauth_mechanism", "grant_type", "redirect_port");

    /// <summary>Every key an asset (or asset-defaults) may set.</summary>
    public static IReadOnlyList<string> AssetKeys => AssetTable.Names;

    private static readonly Lazy<string> DefaultsTextLazy = new(() => ReadResource("imapactors.defaults.conf"));

    /// <summary>The documented defaults (<c>hocon/imapactors.defaults.conf</c>), as embedded in this assembly.</summary>
    public static string DefaultsText => DefaultsTextLazy.Value;

    /// <summary>Loads a configuration file; relative paths in it are relative to its folder.</summary>
    /// <exception cref="ConfigurationException">The file cannot be read or the configuration is wrong.</exception>
    public static EngineSettings Load(string path) => Load(path, null);

    /// <inheritdoc cref="Load(string)"/>
    /// <param name="path">The configuration file.</param>
    /// <param name="environment">Reads environment variables; null reads the process environment.</param>
    public static EngineSettings Load(string path, Func<string, string?>? environment) => LoadConfiguration(path, environment).Engine;

    /// <summary>
    /// Loads a configuration file once for everything a command needs from it: the engine's settings and the OAuth token
    /// store's. Relative paths in it are relative to its folder.
    /// </summary>
    /// <param name="path">The configuration file.</param>
    /// <param name="environment">Reads environment variables; null reads the process environment.</param>
    /// <exception cref="ConfigurationException">The file cannot be read or the configuration is wrong.</exception>
    public static LoadedConfiguration LoadConfiguration(string path, Func<string, string?>? environment = null)
    {
        var (text, directory) = ReadFile(path);
        return ParseCore(text, directory, environment);
    }

    /// <summary>The file's text and its folder (the base of relative paths in it).</summary>
    private static (string Text, string Directory) ReadFile(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            return (File.ReadAllText(full), Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"file '{full}': cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Parses configuration text; relative paths in it are relative to <paramref name="baseDirectory"/>.</summary>
    /// <exception cref="ConfigurationException">The configuration is wrong; the message lists every problem.</exception>
    public static EngineSettings Parse(string hocon, string baseDirectory) => Parse(hocon, baseDirectory, null);

    /// <inheritdoc cref="Parse(string, string)"/>
    /// <param name="hocon">The configuration text.</param>
    /// <param name="baseDirectory">The folder relative paths are relative to.</param>
    /// <param name="environment">Reads environment variables; null reads the process environment.</param>
    public static EngineSettings Parse(string hocon, string baseDirectory, Func<string, string?>? environment) =>
        ParseCore(hocon, baseDirectory, environment).Engine;

    /// <summary>Parses configuration text and returns its <c>imapactors.oauth</c> section (the OAuth token store).</summary>
    /// <exception cref="ConfigurationException">The configuration is wrong; the message lists every problem.</exception>
    public static OAuthStoreSettings ParseOAuthStore(string hocon, string baseDirectory, Func<string, string?>? environment = null) =>
        ParseCore(hocon, baseDirectory, environment).OAuthStore;

    private static LoadedConfiguration ParseCore(string hocon, string baseDirectory, Func<string, string?>? environment)
    {
        var problems = new Problems();
        var loader = new Loader(problems, environment ?? System.Environment.GetEnvironmentVariable, Path.GetFullPath(baseDirectory));
        var user = ParseHocon(hocon, "configuration");
        var defaults = ParseHocon(DefaultsText, "embedded defaults");
        var settings = loader.Read(user, defaults);
        if (problems.List.Count > 0 || settings is null)
        {
            throw new ConfigurationException(problems.List.Count > 0 ? problems.List : ["the configuration is incomplete"]);
        }

        var conflicts = Validate(settings).ToList();

        // Two nodes refreshing one grant at once lose it when the provider rotates refresh tokens; the database's lock
        // keeps them apart, a folder's files cannot across machines.
        if (settings.Cluster.Enabled && loader.OAuthStore!.Store == TokenStoreKind.File
            && settings.Assets.FirstOrDefault(a => a.AuthType == AuthType.OAuth && a.OAuth?.GrantType != "client_credentials") is { } oauth)
        {
            conflicts.Add($"key 'imapactors.oauth.store': asset '{oauth.Name}' uses OAuth, and clustered nodes must share its tokens "
                + "and refresh them one at a time: set store = database");
        }

        if (conflicts.Count > 0)
        {
            throw new ConfigurationException(conflicts);
        }

        return new LoadedConfiguration(settings, loader.OAuthStore!);
    }

    /// <summary>
    /// The problems of settings whose sections are each right but do not fit together, in the words of the configuration
    /// file; empty when there are none. Loading runs it on what it read; a host given settings made in code may too.
    /// </summary>
    public static IReadOnlyList<string> Validate(EngineSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var problems = new List<string>();

        // Another node must be able to read every file this one stores (get-email --container-id, quarantine retry): a
        // folder only does that when every node mounts the same one, which the engine cannot check.
        if (settings.Cluster.Enabled && settings.Vault.Store == VaultStore.File && !settings.Vault.Shared)
        {
            problems.Add("key 'imapactors.vault.store': a clustered node cannot keep the vault in a folder of its own; set store = database, "
                + "or shared = true when every node mounts the same folder at vault.path");
        }

        var destinations = settings.Destinations.ToDictionary(d => d.Name, StringComparer.Ordinal);
        foreach (var asset in settings.Assets)
        {
            foreach (var name in asset.DeliverTo.Where(n => !destinations.ContainsKey(n)).Distinct())
            {
                problems.Add($"asset '{asset.Name}': key 'deliver_to': no destination '{name}' in imapactors.destinations"
                    + (destinations.Count == 0 ? " (none is configured)" : $" (configured: {string.Join(", ", destinations.Keys)})"));
            }

            if (asset.DeliverTo.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                problems.Add($"asset '{asset.Name}': key 'deliver_to': '{twice.Key}' is listed twice; each destination gets a container once");
            }

            // SOAR deduplicates source data identifiers within one of its assets, and ours (md5(folder):uid) repeat across
            // our assets: without an asset of its own in SOAR, a second asset's email would be taken for a duplicate.
            if (asset.SoarAssetId is null
                && asset.DeliverTo.FirstOrDefault(n => destinations.TryGetValue(n, out var d) && d.Type == DestinationType.Soar) is { } soar)
            {
                problems.Add($"asset '{asset.Name}': key 'soar_asset_id' is required to deliver to the soar destination '{soar}': "
                    + "SOAR takes two containers with the same source data identifier in one SOAR asset for one, and our identifiers "
                    + "repeat across assets; set the id of this asset's own asset in SOAR");
            }
        }

        var sharing = settings.Assets
            .SelectMany(a => a.DeliverTo.Where(n => destinations.TryGetValue(n, out var d) && d.Type == DestinationType.Soar)
                .Select(n => (Destination: n, a.SoarAssetId, Asset: a.Name)))
            .Where(x => x.SoarAssetId is not null)
            .GroupBy(x => (x.Destination, x.SoarAssetId))
            .FirstOrDefault(g => g.Count() > 1);
        if (sharing is not null)
        {
            problems.Add($"key 'soar_asset_id': assets {string.Join(" and ", sharing.Select(x => $"'{x.Asset}'"))} deliver to "
                + $"'{sharing.Key.Destination}' as SOAR asset {sharing.Key.SoarAssetId}; each needs its own, or SOAR would take "
                + "their emails with the same folder and UID for one");
        }

        return problems;
    }

    /// <summary>A key of a table as the documented defaults file sets it, beside the default the settings record holds.</summary>
    /// <param name="Key">The full path of the key.</param>
    /// <param name="IsSet">The file sets the key (not only mentions it in a comment).</param>
    /// <param name="FileValue">The value the file sets, read as the engine reads it.</param>
    /// <param name="HasRecordDefault">A settings record holds a default for the key (storage, vault and oauth keys have none).</param>
    /// <param name="RecordDefault">That default.</param>
    internal sealed record DocumentedDefault(string Key, bool IsSet, object? FileValue, bool HasRecordDefault, object? RecordDefault);

    /// <summary>
    /// Every key of the tables as <c>hocon/imapactors.defaults.conf</c> sets it, and the problems reading the file alone
    /// reports (an unknown key, a bad value), so a test keeps the file and the records in step.
    /// </summary>
    internal static (IReadOnlyList<DocumentedDefault> Keys, IReadOnlyList<string> Problems) DocumentedDefaults()
    {
        var problems = new Problems();
        var loader = new Loader(problems, _ => null, Path.GetTempPath());
        var root = ParseHocon(DefaultsText, "embedded defaults");
        var keys = new List<DocumentedDefault>();

        void Add<T>(string path, SectionTable<T> table, T seed)
        {
            var layer = path.Split('.').Aggregate<string, HoconObject?>(root,
                (o, name) => o is not null && o.Items.TryGetValue(name, out var v) && v.IsObject() ? v.GetObject() : null);
            var reader = new ConfigReader(problems, _ => null, "", path + ".", layer);
            reader.RejectUnknownKeys(table.Names);
            keys.AddRange(table.Entries.Select(e => new DocumentedDefault(path + "." + e.Name, e.Names.Any(reader.Has),
                e.ReadValue(loader, reader), e.Default is not null, e.Default?.Invoke(seed))));
        }

        Add("imapactors", TopTable, new TopSection(ExtractionSettings.Default.Fips));
        Add("imapactors.storage", StorageTable, new StorageSection(null, null));
        Add("imapactors.vault", VaultTable, new VaultSection(null, new VaultSettings()));
        Add("imapactors.engine", EngineTable, new EngineSettings { Storage = new StorageSettings(StorageProvider.Sqlite, ""), VaultPath = "", Assets = [] });
        Add("imapactors.engine.admission", AdmissionTable, new AdmissionSettings());
        Add("imapactors.engine.limits", LimitsTable, new ExtractionLimits());
        Add("imapactors.cluster", ClusterTable, new ClusterSettings());
        Add("imapactors.http", HttpTable, new HttpSettings());
        Add("imapactors.oauth", OAuthStoreTable, new OAuthStoreSection(null, null, null));
        Add("imapactors.asset-defaults", AssetTable, new AssetSettings { Name = new AssetName("-"), Server = "-", Username = "-" });
        return (keys, problems.List);
    }

    private static HoconObject ParseHocon(string text, string what)
    {
        try
        {
            return ConfigurationFactory.ParseString(EnvironmentSubstitution.Rewrite(text)).Root.GetObject();
        }
        catch (Exception e) when (e is FormatException or Akka.Configuration.ConfigurationException or InvalidOperationException)
        {
            throw new ConfigurationException($"{what}: not valid HOCON: {e.Message}", e);
        }
    }

    internal static string ReadResource(string name)
    {
        using var stream = typeof(EngineConfig).Assembly.GetManifestResourceStream($"ImapActors.Configuration.{name}")
            ?? throw new InvalidOperationException($"resource {name} is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private sealed class Loader(Problems problems, Func<string, string?> environment, string baseDirectory)
    {
        public OAuthStoreSettings? OAuthStore { get; private set; }

        private ConfigReader Section(string prefix, string keyPath, params HoconObject?[] layers) =>
            new(problems, environment, prefix, keyPath, layers);

        public EngineSettings? Read(HoconObject user, HoconObject embedded)
        {
            var root = Section("", "", user);
            root.RejectUnknownKeys(RootKeys);
            var defaultRoot = Section("", "", embedded);
            var top = Section("", "imapactors.", root.ChildOf(user, "imapactors"), defaultRoot.ChildOf(embedded, "imapactors"));
            top.RejectUnknownKeys(TopTable.Names);

            var storage = ReadStorage(Child(top, "storage", "imapactors.storage."));
            var vault = Child(top, "vault", "imapactors.vault.");
            vault.RejectUnknownKeys(VaultTable.Names);
            var vaultSection = VaultTable.Read(this, vault, new VaultSection(null, new VaultSettings()));
            var vaultPath = vaultSection.Path is { } v ? ResolvePath(v) : null;
            var fips = TopTable.Read(this, top, new TopSection(ExtractionSettings.Default.Fips)).Fips;

            var engine = Child(top, "engine", "imapactors.engine.");
            engine.RejectUnknownKeys(EngineTable.Names);
            var limitsSection = Child(engine, "limits", "imapactors.engine.limits.");
            limitsSection.RejectUnknownKeys(LimitsTable.Names);
            var limits = LimitsTable.Read(this, limitsSection, new ExtractionLimits());

            var admissionSection = Child(engine, "admission", "imapactors.engine.admission.");
            admissionSection.RejectUnknownKeys(AdmissionTable.Names);
            var admission = AdmissionTable.Read(this, admissionSection, new AdmissionSettings());

            var cluster = ReadCluster(Child(top, "cluster", "imapactors.cluster."), storage);
            var http = ReadHttp(Child(top, "http", "imapactors.http."));
            var apiKeys = ReadApiKeys(top);
            var destinations = ReadDestinations(top);
            var providers = ReadProviders(top);
            OAuthStore = ReadOAuthStore(Child(top, "oauth", "imapactors.oauth."));
            var assetDefaultLayers = top.Layers.Select(l => top.ChildOf(l, "asset-defaults")).ToArray();
            Section("", "imapactors.asset-defaults.", assetDefaultLayers[0]).RejectUnknownKeys(AssetTable.Names.ToHashSet());

            var assets = new List<AssetSettings>();
            var userAssets = top.ChildOf(top.User, "assets");
            if (userAssets is null || userAssets.Items.Count == 0)
            {
                top.Problem("assets", "at least one asset is required: assets { name { server = ..., username = ... } }");
            }
            else
            {
                foreach (var (name, value) in userAssets.Items)
                {
                    if (!value.IsObject())
                    {
                        problems.Add($"asset '{name}'", "must be an object { server = ..., username = ... }");
                        continue;
                    }

                    if (string.IsNullOrWhiteSpace(name))
                    {
                        problems.Add("key 'imapactors.assets'", "an asset name must not be blank");
                        continue;
                    }

                    var reader = Section($"asset '{name}': ", "", [value.GetObject(), .. assetDefaultLayers]);
                    if (ReadAsset(new AssetName(name), reader, providers, fips, limits) is { } asset)
                    {
                        assets.Add(asset);
                    }
                }
            }

            if (storage is null || vaultPath is null)
            {
                return null;
            }

            // Read last, as always: a broken storage or vault section leaves nothing to apply these to.
            return EngineTable.Read(this, engine, new EngineSettings
            {
                Storage = storage, VaultPath = vaultPath, Vault = vaultSection.Vault, Assets = assets, Admission = admission,
                Cluster = cluster, Http = http, ApiKeys = apiKeys, Destinations = destinations,
            });
        }

        /// <summary><c>imapactors.http</c>: the listener, and its certificate when it serves HTTPS.</summary>
        private HttpSettings ReadHttp(ConfigReader section)
        {
            section.RejectUnknownKeys(HttpTable.Names);
            var settings = HttpTable.Read(this, section, new HttpSettings());
            if (settings.Bind != "localhost" && !IPAddress.TryParse(settings.Bind, out _))
            {
                section.Problem("bind", $"must be an IP address (127.0.0.1, 0.0.0.0 for every interface, ::) or localhost, got '{settings.Bind}'");
            }

            var tls = Child(section, "tls", "imapactors.http.tls.");
            tls.RejectUnknownKeys(TlsKeys);
            var certificate = tls.String("certificate-file") is { } c ? ExistingFile(tls, "certificate-file", c) : null;
            var key = tls.String("key-file") is { } k ? ExistingFile(tls, "key-file", k) : null;
            var password = ReadSecretForms(tls, "password", "password_env", "password_file", required: false, requiredWhy: "",
                literalIsSecret: _ => true);
            if (certificate is null && (key is not null || password is not null) && !tls.Has("certificate-file"))
            {
                tls.Problem("certificate-file", "is required when key-file or password is set: the certificate HTTPS serves (PEM or PKCS#12)");
            }

            Uri? publicUrl = null;
            if (section.String("public-url") is { } url)
            {
                publicUrl = HttpUrl(url);
                if (publicUrl is null)
                {
                    section.Problem("public-url", $"must be an absolute http:// or https:// URL, got '{url}'");
                }
            }

            return settings with { TlsCertificateFile = certificate, TlsKeyFile = key, TlsPassword = password, PublicUrl = publicUrl };
        }

        private static Uri? HttpUrl(string text) =>
            Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                ? uri
                : null;

        /// <summary>
        /// <c>imapactors.destinations</c>: each named destination, <c>soar</c> with its <c>token</c> or <c>webhook</c>
        /// with its <c>secret</c>, both in the secret forms.
        /// </summary>
        private List<DestinationSettings> ReadDestinations(ConfigReader top)
        {
            var destinations = new List<DestinationSettings>();
            var section = top.ChildOf(top.User, "destinations");
            if (section is null)
            {
                return destinations;
            }

            foreach (var (name, value) in section.Items)
            {
                var path = $"imapactors.destinations.{name}.";
                if (!value.IsObject())
                {
                    problems.Add($"key '{path.TrimEnd('.')}'", "must be an object { type = soar | webhook, url = \"https://...\", ... }");
                    continue;
                }

                var reader = Section("", path, value.GetObject());
                reader.RejectUnknownKeys(DestinationTable.Names);
                var type = reader.OneOf("type", "soar", "webhook") switch
                {
                    "soar" => DestinationType.Soar,
                    "webhook" => (DestinationType?)DestinationType.Webhook,
                    _ => null,
                };
                if (type is null && !reader.Has("type"))
                {
                    reader.Problem("type", "is required: soar (Splunk SOAR's REST API) or webhook (a signed JSON POST)");
                }

                var urlText = reader.String("url", required: true);
                var url = urlText is null ? null : HttpUrl(urlText);
                if (urlText is not null && url is null)
                {
                    reader.Problem("url", $"must be an absolute http:// or https:// URL, got '{urlText}'");
                }

                Secret? token = null, secret = null;
                if (type == DestinationType.Soar)
                {
                    token = ReadSecretForms(reader, "token", "token_env", "token_file", required: true,
                        requiredWhy: " for a soar destination (the ph-auth-token of a SOAR automation user)", literalIsSecret: _ => true);
                    foreach (var other in WebhookOnlyKeys.Where(reader.Has))
                    {
                        reader.Problem(other, "belongs to a webhook destination; a soar destination authenticates with token");
                    }
                }
                else if (type == DestinationType.Webhook)
                {
                    secret = ReadSecretForms(reader, "secret", "secret_env", "secret_file", required: true,
                        requiredWhy: " for a webhook destination (the key its receiver checks signatures with)", literalIsSecret: _ => true);
                    foreach (var other in SoarOnlyKeys.Where(reader.Has))
                    {
                        reader.Problem(other, "belongs to a soar destination; a webhook sends the container as it is, signed with secret");
                    }
                }

                var caFile = reader.String("ca_file") is { } ca ? ExistingFile(reader, "ca_file", ca) : null;
                var severity = reader.String("severity");
                if (severity is not null && severity.Length == 0)
                {
                    reader.Problem("severity", "must not be empty (low, medium, high or a severity defined in SOAR)");
                }

                var label = reader.String("label");
                if (label is not null && label.Length == 0)
                {
                    reader.Problem("label", "must not be empty (leave it out to keep each asset's label)");
                }

                if (type is null || url is null)
                {
                    continue;
                }

                var destination = DestinationTable.Read(this, reader, new DestinationSettings
                {
                    Name = name, Type = type.Value, Url = url, Token = token, Secret = secret, CaFile = caFile,
                    Label = label, Severity = severity,
                });
                if (destination.Retry.Min > destination.Retry.Max)
                {
                    reader.Problem("retry_min", "must not be longer than retry_max");
                }

                destinations.Add(destination);
            }

            return destinations;
        }

        /// <summary>
        /// <c>imapactors.api-keys</c>: each named key in one of the secret forms (never written in the file), with its
        /// scopes; a key shorter than <see cref="MinimumApiKeyLength"/> or shared by two names is refused.
        /// </summary>
        private List<ApiKeySettings> ReadApiKeys(ConfigReader top)
        {
            var keys = new List<ApiKeySettings>();
            var section = top.ChildOf(top.User, "api-keys");
            if (section is null)
            {
                return keys;
            }

            foreach (var (name, value) in section.Items)
            {
                var path = $"imapactors.api-keys.{name}.";
                if (!value.IsObject())
                {
                    problems.Add($"key '{path.TrimEnd('.')}'", "must be an object { key_env = \"NAME\", scopes = [read] }");
                    continue;
                }

                var reader = Section("", path, value.GetObject());
                reader.RejectUnknownKeys(ApiKeyKeys);
                var key = ReadSecretForms(reader, "key", "key_env", "key_file", required: true, requiredWhy: "", literalIsSecret: _ => true);
                if (key is not null && key.Value.Length < MinimumApiKeyLength)
                {
                    // The key itself is never echoed.
                    reader.Problem("key", $"is {key.Value.Length} characters long, and an API key needs at least {MinimumApiKeyLength}; make one with: openssl rand -hex 32");
                    key = null;
                }

                var scopes = ApiScopes.None;
                var listed = reader.StringList("scopes");
                if (listed is null || listed.Count == 0)
                {
                    reader.Problem("scopes", "is required: [read] (lists, containers, files) or [read, act] (also the actions and retries)");
                }
                else
                {
                    foreach (var scope in listed)
                    {
                        scopes |= scope switch
                        {
                            "read" => ApiScopes.Read,
                            "act" => ApiScopes.Act,
                            _ => ApiScopes.None,
                        };
                        if (scope is not ("read" or "act"))
                        {
                            reader.Problem("scopes", $"knows read and act, got '{scope}'");
                        }
                    }
                }

                if (key is null || scopes == ApiScopes.None)
                {
                    continue;
                }

                if (keys.FirstOrDefault(k => k.Key.Value == key.Value) is { } same)
                {
                    reader.Problem("key", $"is the same key as api-keys.{same.Name}: each key must be its own, or a log could not say who called");
                    continue;
                }

                keys.Add(new ApiKeySettings(name, key, scopes));
            }

            return keys;
        }

        private ConfigReader Child(ConfigReader parent, string key, string keyPath) =>
            Section("", keyPath, parent.Layers.Select(l => parent.ChildOf(l, key)).ToArray());

        /// <summary>
        /// <c>imapactors.cluster</c>, with <see cref="ClusterEnvironmentOverrides"/> over the file. The rules that tie it
        /// to other sections are checked only when it is enabled; the seed nodes' form always is.
        /// </summary>
        private ClusterSettings ReadCluster(ConfigReader section, StorageSettings? storage)
        {
            section.RejectUnknownKeys(ClusterTable.Names);
            var cluster = section.WithEnvironmentOverrides(ClusterEnvironmentOverrides);
            var settings = ClusterTable.Read(this, cluster, new ClusterSettings());
            if (!IsHost(settings.Hostname))
            {
                cluster.Problem("hostname", $"must be a host name or IP address only (the port goes in 'port'), got '{settings.Hostname}'");
            }

            var bad = settings.SeedNodes.FirstOrDefault(n => SeedNodeProblem(n) is not null);
            if (bad is not null)
            {
                cluster.Problem("seed-nodes", SeedNodeProblem(bad)!);
            }
            else if (settings.SeedNodes.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                cluster.Problem("seed-nodes", $"lists '{twice.Key}' twice");
            }

            if (settings.Enabled)
            {
                if (storage is { Provider: not StorageProvider.PostgreSql })
                {
                    cluster.Problem("enabled", "cluster mode needs storage provider postgresql, because every node shares the journal, the containers and the vault");
                }

                if (settings.SeedNodes.Count == 0)
                {
                    cluster.Problem("seed-nodes",
                        "must list at least one seed node when the cluster is enabled: a node must know whom to join (a single-node cluster lists itself)");
                }
            }

            return settings;
        }

        /// <summary>Why a seed node is not host:port, or null when it is.</summary>
        private static string? SeedNodeProblem(string node)
        {
            if (node.Contains("://", StringComparison.Ordinal))
            {
                var hint = Uri.TryCreate(node, UriKind.Absolute, out var uri) && uri.Port > 0 ? $" ('{uri.Host}:{uri.Port}')" : "";
                return $"'{node}' is an Akka address; list host:port{hint}, the engine builds the address";
            }

            // An IPv6 address is bracketed, as in a URI: [::1]:4053.
            var colon = node.LastIndexOf(':');
            var host = colon > 0 ? node[..colon] : "";
            var hostOk = host.Length > 2 && host[0] == '[' && host[^1] == ']'
                ? host[1..^1].Contains(':', StringComparison.Ordinal) && IsHost(host[1..^1])
                : !host.Contains(':', StringComparison.Ordinal) && IsHost(host);
            var portOk = int.TryParse(node[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535;
            return hostOk && portOk ? null : $"'{node}' must be host:port with a port from 1 to 65535, such as '10.0.0.11:4053'";
        }

        /// <summary>A host name or an IP address (IPv6 unbracketed), without a port.</summary>
        private static bool IsHost(string host) =>
            host.Length > 0 && !host.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '[' or ']')
            && (!host.Contains(':', StringComparison.Ordinal) || IPAddress.TryParse(host, out _));

        private StorageSettings? ReadStorage(ConfigReader storage)
        {
            storage.RejectUnknownKeys(StorageTable.Names);
            var (provider, connection) = StorageTable.Read(this, storage, new StorageSection(null, null));
            if (provider is null || connection is null)
            {
                return null;
            }

            DbConnectionStringBuilder builder;
            try
            {
                builder = new DbConnectionStringBuilder { ConnectionString = connection.Value };
            }
            catch (ArgumentException)
            {
                storage.Problem("connection-string", "is not a valid connection string (Key=Value;Key=Value)");
                return null;
            }

            if (provider == StorageProvider.Sqlite)
            {
                var fileKey = SqliteFileKeys.FirstOrDefault(builder.ContainsKey);
                if (fileKey is null || string.IsNullOrWhiteSpace(builder[fileKey]?.ToString()))
                {
                    storage.Problem("connection-string", "must name the database file: \"Data Source=imapactors.db\"");
                    return null;
                }

                var file = builder[fileKey]!.ToString()!;
                if (file != ":memory:" && !file.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && ResolvePath(file) is var full
                    && full != file)
                {
                    // The builder writes keys in lower case; both providers read keys case-insensitively.
                    builder[fileKey] = full;
                    return new StorageSettings(provider.Value, builder.ConnectionString);
                }
            }

            return new StorageSettings(provider.Value, connection.Value);
        }

        public static bool HasPassword(string connectionString)
        {
            try
            {
                var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
                return PasswordKeys.Any(k => builder.TryGetValue(k, out var v) && !string.IsNullOrEmpty(v?.ToString()));
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        private OAuthStoreSettings ReadOAuthStore(ConfigReader oauth)
        {
            oauth.RejectUnknownKeys(OAuthStoreTable.Names);
            var (store, tokenStore, key) = OAuthStoreTable.Read(this, oauth, new OAuthStoreSection(null, null, null));
            var path = ResolvePath(tokenStore ?? "tokens");
            return new OAuthStoreSettings(path, key, store ?? TokenStoreKind.File);
        }

        private Dictionary<string, ConfigReader> ReadProviders(ConfigReader top)
        {
            var layers = top.Layers.Select(l => top.ChildOf(l, "oauth-providers")).ToArray();
            var names = layers.Where(l => l is not null).SelectMany(l => l!.Items.Keys).Distinct(StringComparer.Ordinal);
            var providers = new Dictionary<string, ConfigReader>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var path = $"imapactors.oauth-providers.{name}.";
                var reader = Section("", path, layers.Select(l => top.Only(l).ChildOf(l, name)).ToArray());
                reader.RejectUnknownKeys(ProviderKeys);
                providers[name] = reader;
            }

            return providers;
        }

        private AssetSettings? ReadAsset(AssetName name, ConfigReader asset, Dictionary<string, ConfigReader> providers, bool fips,
            ExtractionLimits limits)
        {
            asset.RejectUnknownKeys(AssetTable.Names.ToHashSet());
            var defaults = new AssetSettings { Name = name, Server = "-", Username = "-" };

            var server = asset.String("server", required: true);
            if (server is not null && (server.Any(char.IsWhiteSpace)
                    || (server.Contains(':', StringComparison.Ordinal) && !IPAddress.TryParse(server.Trim('[', ']'), out _))))
            {
                asset.Problem("server", $"must be a host name or IP address only (the port goes in 'port'), got '{server}'");
            }

            var useSsl = asset.Bool("use_ssl") ?? defaults.UseSsl;
            var port = asset.Port("port") ?? (useSsl ? 993 : 143);
            var caFile = asset.String("ca_file") is { } ca ? ExistingFile(asset, "ca_file", ca) : null;
            var authType = asset.OneOf("auth_type", "Basic", "OAuth") switch
            {
                "OAuth" => AuthType.OAuth,
                _ => AuthType.Basic,
            };
            var username = asset.String("username", required: true);
            var password = ReadSecretForms(asset, "password", "password_env", "password_file", required: authType == AuthType.Basic,
                requiredWhy: " for auth_type Basic", literalIsSecret: _ => true);
            var oauth = authType == AuthType.OAuth ? ReadOAuth(asset, providers) : null;
            var folders = ReadFolders(asset);
            var ingest = asset.OneOf("ingest_manner", "oldest first", "latest first") switch
            {
                "latest first" => IngestManner.LatestFirst,
                _ => IngestManner.OldestFirst,
            };

            var settings = AssetTable.Read(this, asset, new AssetSettings
            {
                Name = name,
                Server = server ?? "",
                Port = port,
                UseSsl = useSsl,
                CaFile = caFile,
                AuthType = authType,
                Username = username ?? "",
                Password = password,
                OAuth = oauth,
                Folders = folders ?? defaults.Folders,
                IngestManner = ingest,
                SoarAssetId = asset.PositiveInt("soar_asset_id"),
            });
            settings = settings with { Extraction = settings.Extraction with { Fips = fips, Limits = limits } };
            foreach (var (min, max, schedule) in new[] { ("retry_min", "retry_max", settings.Retry), ("login_retry_min", "login_retry_max", settings.LoginRetry) })
            {
                if (schedule.Min > schedule.Max)
                {
                    asset.Problem(min, $"must not be longer than {max}");
                }
            }

            return server is null || username is null ? null : settings;
        }

        /// <summary>
        /// <c>folder</c> or <c>folders</c>, from the first layer (the asset, then asset-defaults) that sets either: an
        /// asset's <c>folders</c> replaces a default <c>folder</c> instead of clashing with it.
        /// </summary>
        private static List<FolderName>? ReadFolders(ConfigReader asset)
        {
            var layer = asset.Layers.FirstOrDefault(l => ConfigReader.Has(l, "folder") || ConfigReader.Has(l, "folders"));
            if (layer is null)
            {
                return null;
            }

            var only = asset.Only(layer);
            if (ConfigReader.Has(layer, "folder") && ConfigReader.Has(layer, "folders"))
            {
                only.Problem("folders", "set either folder or folders, not both");
                return null;
            }

            if (ConfigReader.Has(layer, "folder"))
            {
                var folder = only.Scalar("folder")?.Text;
                if (folder is null || folder.Length == 0)
                {
                    only.Problem("folder", "must name a folder, got ''");
                    return null;
                }

                return [new FolderName(folder)];
            }

            var list = only.StringList("folders");
            if (list is null)
            {
                return null;
            }

            if (list.Count == 0)
            {
                only.Problem("folders", "must list at least one folder");
                return null;
            }

            if (list.Any(f => f.Length == 0))
            {
                only.Problem("folders", "must not contain an empty folder name");
                return null;
            }

            if (list.GroupBy(f => f, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                only.Problem("folders", $"lists '{twice.Key}' twice");
                return null;
            }

            return [.. list.Select(f => new FolderName(f))];
        }

        private OAuthSettings? ReadOAuth(ConfigReader asset, Dictionary<string, ConfigReader> providers)
        {
            var defaults = new OAuthSettings();
            var providerName = asset.OneOf("provider", [.. providers.Keys]) ?? defaults.Provider;
            var preset = providers.GetValueOrDefault(providerName);
            var grant = asset.OneOf("grant_type", "authorization_code", "client_credentials") ?? defaults.GrantType;
            var tenant = asset.String("tenant") ?? preset?.String("tenant");

            if (grant == "client_credentials")
            {
                if (preset is null || !preset.Has("app_scopes"))
                {
                    asset.Problem("grant_type", $"client_credentials is not available with provider '{providerName}' (use microsoft)");
                }
                else if (tenant is null || CommonTenants.Contains(tenant, StringComparer.OrdinalIgnoreCase))
                {
                    asset.Problem("tenant", $"client_credentials needs the directory's own tenant (its id or domain), got '{tenant}'");
                }
            }

            string? Url(string key)
            {
                var own = asset.String(key);
                var url = (own ?? preset?.String(key))?.Replace("{tenant}", tenant ?? "", StringComparison.Ordinal);
                if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)))
                {
                    asset.Problem(key, $"must be an absolute http(s) URL, got '{url}'");
                }

                return url;
            }

            var scopes = asset.StringList("scopes") ?? (grant == "client_credentials" ? preset?.StringList("app_scopes") : preset?.StringList("scopes"));
            if (scopes is { Count: 0 })
            {
                asset.Problem("scopes", "must list at least one scope");
            }

            var settings = new OAuthSettings
            {
                Provider = providerName,
                ClientId = asset.String("client_id", required: true, requiredWhy: " for auth_type OAuth"),
                ClientSecret = ReadSecretForms(asset, "client_secret", "client_secret_env", "client_secret_file", required: true,
                    requiredWhy: " for auth_type OAuth", literalIsSecret: _ => true),
                AuthUrl = Url("auth_url") ?? defaults.AuthUrl,
                TokenUrl = Url("token_url") ?? defaults.TokenUrl,
                Scopes = scopes ?? defaults.Scopes,
                Tenant = tenant,
                Mechanism = asset.OneOf("oauth_mechanism", "XOAUTH2", "OAUTHBEARER") ?? defaults.Mechanism,
                GrantType = grant,
                RedirectPort = asset.Port("redirect_port") ?? defaults.RedirectPort,
            };
            return settings;
        }

        /// <summary>
        /// A secret from exactly one of <c>key = ${?ENV}</c>, <c>key_env = "NAME"</c> or <c>key_file = "/path"</c>, taken
        /// from the first layer that sets any of them. A value written literally in the file is refused when
        /// <paramref name="literalIsSecret"/> says it holds a secret.
        /// </summary>
        public Secret? ReadSecretForms(ConfigReader section, string key, string envKey, string fileKey, bool required,
            string requiredWhy, Func<string, bool> literalIsSecret)
        {
            var forms = new[] { key, envKey, fileKey };
            var layer = section.Layers.FirstOrDefault(l => forms.Any(f => ConfigReader.Has(l, f)));
            var how = $"{key} = ${{?NAME}}, {envKey} = \"NAME\" or {fileKey} = \"/path/to/file\"";
            if (layer is null)
            {
                if (required)
                {
                    section.Problem(key, $"is required{requiredWhy}; set it from the environment or a file: {how}");
                }

                return null;
            }

            var only = section.Only(layer);
            var given = forms.Where(f => ConfigReader.Has(layer, f)).ToList();
            if (given.Count > 1)
            {
                only.Problem(key, $"set only one of {string.Join(", ", given)}");
                return null;
            }

            var form = given[0];
            if (only.Scalar(form) is not { } scalar)
            {
                if (required)
                {
                    section.Problem(key, $"is required{requiredWhy}; its environment variable is not set");
                }

                return null;
            }

            if (form == key)
            {
                if (scalar.EnvironmentVariable is null && literalIsSecret(scalar.Text))
                {
                    // The value is never echoed: it is a secret, and this message ends up in logs.
                    only.Problem(key, $"a secret written in the configuration file is refused; use {how}");
                    return null;
                }

                return NonEmpty(only, key, scalar.Text, scalar.EnvironmentVariable is { } n ? $"environment variable '{n}' is empty" : "must not be empty");
            }

            if (form == envKey)
            {
                var value = environment(scalar.Text);
                return value is null
                    ? Fail(only, envKey, $"environment variable '{scalar.Text}' is not set")
                    : NonEmpty(only, envKey, value, $"environment variable '{scalar.Text}' is empty");
            }

            if (ExistingFile(only, fileKey, scalar.Text) is not { } path)
            {
                return null;
            }

            try
            {
                var text = Secret.FromFileText(File.ReadAllText(path));
                return NonEmpty(only, fileKey, text, $"file '{path}' is empty") is { } secret ? secret with { File = path } : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail(only, fileKey, $"file '{path}' cannot be read: {e.Message}");
            }
        }

        private static Secret? NonEmpty(ConfigReader section, string key, string value, string problem) =>
            value.Length == 0 ? Fail(section, key, problem) : new Secret(value);

        private static Secret? Fail(ConfigReader section, string key, string problem)
        {
            section.Problem(key, problem);
            return null;
        }

        private string? ExistingFile(ConfigReader section, string key, string path)
        {
            var full = ResolvePath(path);
            if (!File.Exists(full))
            {
                section.Problem(key, $"file '{full}' not found");
                return null;
            }

            return full;
        }

        private string ResolvePath(string path) => Path.GetFullPath(Path.Combine(baseDirectory, path));
    }
}
