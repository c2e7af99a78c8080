using ImapActors.Configuration;
using ImapActors.Domain;
using Microsoft.Data.Sqlite;

namespace ImapActors.Configuration.Tests;

public sealed class EngineConfigTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-config-").FullName;
    private readonly Dictionary<string, string> _environment = new() { ["PHISH_PASSWORD"] = "s3cret" };

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private EngineSettings Parse(string hocon) => EngineConfig.Parse(hocon, _folder, name => _environment.GetValueOrDefault(name));

    private EngineSettings ParseAsset(string assetBody) => Parse(Asset(assetBody));

    private static string Asset(string assetBody) => $$"""
        imapactors.assets {
          phish {
            server = "mail.example.org"
            username = "soc"
            {{assetBody}}
          }
        }
        """;

    private IReadOnlyList<string> Refused(string hocon) => Assert.Throws<ConfigurationException>(() => Parse(hocon)).Problems;

    private string RefusedAsset(string assetBody) => Assert.Single(Refused(Asset(assetBody)));

    [Fact]
    public void A_minimal_asset_takes_every_documented_default()
    {
        var settings = ParseAsset("password = ${?PHISH_PASSWORD}");

        var asset = Assert.Single(settings.Assets);
        Assert.Equal(new AssetName("phish"), asset.Name);
        Assert.Equal("mail.example.org", asset.Server);
        Assert.Equal(993, asset.Port);
        Assert.True(asset.UseSsl);
        Assert.True(asset.VerifyServerCert);
        Assert.Null(asset.CaFile);
        Assert.Equal(AuthType.Basic, asset.AuthType);
        Assert.Equal("soc", asset.Username);
        Assert.Equal("s3cret", asset.Password!.Value);
        Assert.Null(asset.OAuth);
        Assert.Equal([new FolderName("inbox")], asset.Folders);
        Assert.Equal(IngestManner.OldestFirst, asset.IngestManner);
        Assert.Equal(2000, asset.FirstRunMaxEmails);
        Assert.Equal(100, asset.MaxEmails);
        Assert.Equal(TimeSpan.FromSeconds(60), asset.PollInterval);
        Assert.Equal(TimeSpan.FromSeconds(60), asset.Timeout);
        Assert.Equal("imap", asset.Label);
        Assert.Equal(new ExtractionSettings(), asset.Extraction);

        Assert.Equal(StorageProvider.Sqlite, settings.Storage.Provider);
        Assert.Equal(Path.Combine(_folder, "imapactors.db"), new SqliteConnectionStringBuilder(settings.Storage.ConnectionString).DataSource);
        Assert.Equal(Path.Combine(_folder, "vault"), settings.VaultPath);
        Assert.Equal(3, settings.PoisonMaxAttempts);
        Assert.Equal(100, settings.FetchBatchSize);
        Assert.Equal(4L * 1024 * 1024, settings.LargeMessageBytes);
        Assert.Equal(0, settings.ParserPoolSize);
        Assert.Equal(0, settings.ExtractorPoolSize);
    }

    [Fact]
    public void Every_key_is_read()
    {
        File.WriteAllText(Path.Combine(_folder, "ca.pem"), "-----BEGIN CERTIFICATE-----\n");
        _environment["DB"] = "Host=db;Username=u;Password=p;Database=d";
        var settings = Parse("""
            imapactors {
              storage { provider = postgresql, connection-string-env = "DB" }
              vault.path = "/srv/vault"
              fips = true
              engine {
                poison-max-attempts = 5, fetch-batch-size = 50, large-message-bytes = 512k
                parser-pool-size = 2, extractor-pool-size = 3
                limits { max-mime-depth = 8, max-parts = 100, max-decoded-bytes = 1G, max-scanned-text-bytes = 1048576
                         max-artifacts = 50, max-time = 1500ms, max-header-field-bytes = 8K, max-header-bytes = 64K
                         max-header-fields = 300, max-preamble-bytes = 32K, max-buffered-part-bytes = 2M }
              }
              assets.phish {
                server = "10.0.0.5", port = 1993, use_ssl = false, verify_server_cert = no, ca_file = "ca.pem"
                username = "soc", password_env = "PHISH_PASSWORD"
                folders = ["INBOX", "Reported/Phish"]
                ingest_manner = "latest first", first_run_max_emails = 10, max_emails = 5
                poll_interval = 5m, timeout = 2h, label = "phishing"
                extract_attachments = false, extract_urls = false, extract_ips = false, extract_domains = false
                extract_hashes = false, add_body_to_header_artifacts = true
              }
            }
            """);

        Assert.Equal(new StorageSettings(StorageProvider.PostgreSql, "Host=db;Username=u;Password=p;Database=d"), settings.Storage);
        Assert.Equal("/srv/vault", settings.VaultPath);
        Assert.Equal((5, 50, 512L * 1024, 2, 3),
            (settings.PoisonMaxAttempts, settings.FetchBatchSize, settings.LargeMessageBytes, settings.ParserPoolSize, settings.ExtractorPoolSize));
        var asset = Assert.Single(settings.Assets);
        Assert.Equal(("10.0.0.5", 1993, false, false), (asset.Server, asset.Port, asset.UseSsl, asset.VerifyServerCert));
        Assert.Equal(Path.Combine(_folder, "ca.pem"), asset.CaFile);
        Assert.Equal([new FolderName("INBOX"), new FolderName("Reported/Phish")], asset.Folders);
        Assert.Equal((IngestManner.LatestFirst, 10, 5), (asset.IngestManner, asset.FirstRunMaxEmails, asset.MaxEmails));
        Assert.Equal((TimeSpan.FromMinutes(5), TimeSpan.FromHours(2), "phishing"), (asset.PollInterval, asset.Timeout, asset.Label));
        Assert.Equal(new ExtractionSettings
        {
            ExtractAttachments = false,
            ExtractUrls = false,
            ExtractIps = false,
            ExtractDomains = false,
            ExtractHashes = false,
            AddBodyToHeaderArtifacts = true,
            Fips = true,
            Limits = new ExtractionLimits
            {
                MaxMimeDepth = 8,
                MaxParts = 100,
                MaxDecodedBytes = 1L << 30,
                MaxScannedTextBytes = 1 << 20,
                MaxArtifacts = 50,
                MaxTime = TimeSpan.FromMilliseconds(1500),
                MaxHeaderFieldBytes = 8 * 1024,
                MaxHeaderBytes = 64 * 1024,
                MaxHeaderFields = 300,
                MaxPreambleBytes = 32 * 1024,
                MaxBufferedPartBytes = 2 * 1024 * 1024,
            },
        }, asset.Extraction);
    }

    [Theory]
    [InlineData("use_ssl = true", 993)]
    [InlineData("use_ssl = false", 143)]
    [InlineData("use_ssl = false, port = 10143", 10143)]
    public void The_port_defaults_to_993_with_ssl_and_143_without(string keys, int port) =>
        Assert.Equal(port, ParseAsset("password = ${?PHISH_PASSWORD}\n" + keys).Assets[0].Port);

    [Fact]
    public void Unknown_keys_are_refused_at_every_level_with_a_suggestion()
    {
        var problems = Refused("""
            imapactor { }
            imapactors {
              storage { provider = sqlite, conection-string = "x" }
              engine { fetch-batchsize = 5, limits { max-part = 3 } }
              asset-defaults { pol_interval = 5m }
              oauth-providers.google { token-url = "https://x" }
              assets.phish {
                server = "mail.example.org", username = "soc", password = ${?PHISH_PASSWORD}
                max_email = 50
                colour = blue
              }
            }
            """);

        Assert.Equal(
        [
            "key 'imapactor': unknown key (did you mean 'imapactors'?)",
            "key 'imapactors.storage.conection-string': unknown key (did you mean 'connection-string'?)",
            "key 'imapactors.engine.fetch-batchsize': unknown key (did you mean 'fetch-batch-size'?)",
            "key 'imapactors.engine.limits.max-part': unknown key (did you mean 'max-parts'?)",
            "key 'imapactors.oauth-providers.google.token-url': unknown key (did you mean 'token_url'?)",
            "key 'imapactors.asset-defaults.pol_interval': unknown key (did you mean 'poll_interval'?)",
            "asset 'phish': key 'max_email': unknown key (did you mean 'max_emails'?)",
            "asset 'phish': key 'colour': unknown key",
        ], problems);
    }

    [Fact]
    public void Missing_required_keys_are_all_reported()
    {
        var problems = Refused("""
            imapactors.assets {
              a { }
              b { auth_type = OAuth, server = "imap.gmail.com", username = "x@example.org" }
            }
            """);

        Assert.Equal(
        [
            "asset 'a': key 'server': is required",
            "asset 'a': key 'username': is required",
            "asset 'a': key 'password': is required for auth_type Basic; set it from the environment or a file: password = ${?NAME}, password_env = \"NAME\" or password_file = \"/path/to/file\"",
            "asset 'b': key 'client_id': is required for auth_type OAuth",
            "asset 'b': key 'client_secret': is required for auth_type OAuth; set it from the environment or a file: client_secret = ${?NAME}, client_secret_env = \"NAME\" or client_secret_file = \"/path/to/file\"",
        ], problems);
    }

    [Fact]
    public void At_least_one_asset_is_required() =>
        Assert.Equal(["key 'imapactors.assets': at least one asset is required: assets { name { server = ..., username = ... } }"],
            Refused("imapactors { fips = false }"));

    [Theory]
    [InlineData("max_emails = 0", "asset 'phish': key 'max_emails': must be a positive integer, got 0")]
    [InlineData("first_run_max_emails = -5", "asset 'phish': key 'first_run_max_emails': must be a positive integer, got -5")]
    [InlineData("max_emails = 1.5", "asset 'phish': key 'max_emails': must be a positive integer, got 1.5")]
    [InlineData("max_emails = lots", "asset 'phish': key 'max_emails': must be a positive integer, got 'lots'")]
    [InlineData("port = 0", "asset 'phish': key 'port': must be a port number from 1 to 65535, got 0")]
    [InlineData("port = 70000", "asset 'phish': key 'port': must be a port number from 1 to 65535, got 70000")]
    [InlineData("ingest_manner = \"newest first\"", "asset 'phish': key 'ingest_manner': must be 'oldest first' or 'latest first', got 'newest first'")]
    [InlineData("ingest_manner = \"Oldest First\"", "asset 'phish': key 'ingest_manner': must be 'oldest first' or 'latest first', got 'Oldest First'")]
    [InlineData("auth_type = basic", "asset 'phish': key 'auth_type': must be Basic or OAuth, got 'basic'")]
    [InlineData("poll_interval = 60", "asset 'phish': key 'poll_interval': must be a positive duration with a unit such as 500ms, 60s, 5m or 1h, got 60")]
    [InlineData("poll_interval = soon", "asset 'phish': key 'poll_interval': must be a positive duration with a unit such as 500ms, 60s, 5m or 1h, got 'soon'")]
    [InlineData("timeout = 0s", "asset 'phish': key 'timeout': must be a positive duration with a unit such as 500ms, 60s, 5m or 1h, got '0s'")]
    [InlineData("use_ssl = maybe", "asset 'phish': key 'use_ssl': must be true or false, got 'maybe'")]
    [InlineData("label = \"\"", "asset 'phish': key 'label': must not be empty")]
    [InlineData("folder = \"\"", "asset 'phish': key 'folder': must name a folder, got ''")]
    [InlineData("folders = []", "asset 'phish': key 'folders': must list at least one folder")]
    [InlineData("folders = [\"INBOX\", \"\"]", "asset 'phish': key 'folders': must not contain an empty folder name")]
    [InlineData("folders = [\"INBOX\", \"INBOX\"]", "asset 'phish': key 'folders': lists 'INBOX' twice")]
    [InlineData("folder = INBOX, folders = [\"Reported\"]", "asset 'phish': key 'folders': set either folder or folders, not both")]
    [InlineData("ca_file = \"missing.pem\"", "asset 'phish': key 'ca_file': file '{folder}/missing.pem' not found")]
    [InlineData("folders = { a = 1 }", "asset 'phish': key 'folders': must be a single value, not an object")]
    public void A_bad_value_is_refused_with_asset_key_and_reason(string keys, string expected) =>
        Assert.Equal(expected.Replace("{folder}", _folder, StringComparison.Ordinal), RefusedAsset("password = ${?PHISH_PASSWORD}\n" + keys));

    [Fact]
    public void A_port_in_the_server_name_is_refused_but_an_ipv6_address_is_not()
    {
        Assert.Equal("asset 'phish': key 'server': must be a host name or IP address only (the port goes in 'port'), got 'mail.example.org:993'",
            Assert.Single(Refused("imapactors.assets.phish { server = \"mail.example.org:993\", username = u, password = ${?PHISH_PASSWORD} }")));
        Assert.Equal("::1", Parse("imapactors.assets.phish { server = \"::1\", username = u, password = ${?PHISH_PASSWORD} }").Assets[0].Server);
    }

    [Theory]
    [InlineData("provider = mysql", "key 'imapactors.storage.provider': must be sqlite or postgresql, got 'mysql'")]
    [InlineData("provider = postgresql, connection-string = \"Host=db;Username=u;Password=hunter2;Database=d\"",
        "key 'imapactors.storage.connection-string': a secret written in the configuration file is refused; use connection-string = ${?NAME}, connection-string-env = \"NAME\" or connection-string-file = \"/path/to/file\"")]
    [InlineData("connection-string = \"Mode=Memory\"", "key 'imapactors.storage.connection-string': must name the database file: \"Data Source=imapactors.db\"")]
    public void Bad_storage_settings_are_refused(string storage, string expected) =>
        Assert.Equal(expected, Assert.Single(Refused(Asset("password = ${?PHISH_PASSWORD}") + $"\nimapactors.storage {{ {storage} }}")));

    [Theory]
    [InlineData("fetch-batch-size = 0", "key 'imapactors.engine.fetch-batch-size': must be a positive integer, got 0")]
    [InlineData("parser-pool-size = -1", "key 'imapactors.engine.parser-pool-size': must be a non-negative integer (0: one per core), got -1")]
    [InlineData("large-message-bytes = 4X", "key 'imapactors.engine.large-message-bytes': must be a positive size such as 1048576, 512k, 4M or 1G, got '4X'")]
    [InlineData("limits.max-time = forever", "key 'imapactors.engine.limits.max-time': must be a positive duration with a unit such as 500ms, 60s, 5m or 1h, got 'forever'")]
    public void Bad_engine_settings_are_refused(string engine, string expected) =>
        Assert.Equal(expected, Assert.Single(Refused(Asset("password = ${?PHISH_PASSWORD}") + $"\nimapactors.engine {{ {engine} }}")));

    [Fact]
    public void All_problems_of_a_file_are_reported_together()
    {
        var error = Assert.Throws<ConfigurationException>(() => ParseAsset("max_emails = 0\nport = -1\nlabel = \"\""));

        Assert.Equal(4, error.Problems.Count);
        Assert.StartsWith("The configuration has 4 problems:", error.Message, StringComparison.Ordinal);
        Assert.Contains("asset 'phish': key 'max_emails': must be a positive integer, got 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_literal_password_is_refused_without_being_echoed()
    {
        var problem = RefusedAsset("password = \"hunter2\"");

        Assert.Equal("asset 'phish': key 'password': a secret written in the configuration file is refused; use password = ${?NAME}, password_env = \"NAME\" or password_file = \"/path/to/file\"", problem);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_substituted_from_another_key_of_the_file_is_still_a_literal() =>
        Assert.Contains("a secret written in the configuration file is refused",
            Assert.Single(Refused("imapactors.asset-defaults.label = \"hunter2\"\n" + Asset("password = ${imapactors.asset-defaults.label}"))),
            StringComparison.Ordinal);

    [Fact]
    public void Secrets_come_from_environment_substitution_env_name_or_file()
    {
        File.WriteAllText(Path.Combine(_folder, "secret"), "from-file\n");
        _environment["OTHER"] = "from-env-name";

        Assert.Equal("s3cret", ParseAsset("password = ${PHISH_PASSWORD}").Assets[0].Password!.Value);
        Assert.Equal("from-env-name", ParseAsset("password_env = OTHER").Assets[0].Password!.Value);
        Assert.Equal("from-file", ParseAsset("password_file = secret").Assets[0].Password!.Value);
        Assert.Equal("***", ParseAsset("password_file = secret").Assets[0].Password!.ToString());
    }

    [Fact]
    public void A_password_file_is_read_again_for_its_current_value()
    {
        var file = Path.Combine(_folder, "rotated");
        File.WriteAllText(file, "first\n");
        var password = ParseAsset("password_file = rotated").Assets[0].Password!;
        File.WriteAllText(file, "second\r\n");

        Assert.Equal(("first", "second"), (password.Value, password.Current()));
        Assert.Equal("s3cret", ParseAsset("password = ${PHISH_PASSWORD}").Assets[0].Password!.Current());
    }

    [Fact]
    public void The_retry_schedules_are_read_and_a_minimum_above_its_maximum_is_refused()
    {
        var asset = ParseAsset("password = ${PHISH_PASSWORD}, retry_min = 2s, retry_max = 1m, login_retry_min = 5m, login_retry_max = 2h").Assets[0];
        Assert.Equal(new RetrySchedule(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1)), asset.Retry);
        Assert.Equal(new RetrySchedule(TimeSpan.FromMinutes(5), TimeSpan.FromHours(2)), asset.LoginRetry);
        Assert.Equal(new RetrySchedule(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)), ParseAsset("password = ${PHISH_PASSWORD}").Assets[0].Retry);

        Assert.Equal("asset 'phish': key 'login_retry_min': must not be longer than login_retry_max",
            RefusedAsset("password = ${PHISH_PASSWORD}, login_retry_min = 2h"));
    }

    [Theory]
    [InlineData("password = ${?UNSET}", "asset 'phish': key 'password': is required for auth_type Basic; its environment variable is not set")]
    [InlineData("password = ${UNSET}", "asset 'phish': key 'password': environment variable 'UNSET' is not set")]
    [InlineData("password_env = UNSET", "asset 'phish': key 'password_env': environment variable 'UNSET' is not set")]
    [InlineData("password_file = nope", "asset 'phish': key 'password_file': file '{folder}/nope' not found")]
    [InlineData("password_env = PHISH_PASSWORD, password_file = x", "asset 'phish': key 'password': set only one of password_env, password_file")]
    [InlineData("password = \"x\" ${?PHISH_PASSWORD}", "asset 'phish': key 'password': an environment substitution ${NAME} must be the whole value")]
    public void A_missing_or_ambiguous_secret_is_refused(string keys, string expected) =>
        Assert.Equal(expected.Replace("{folder}", _folder, StringComparison.Ordinal), RefusedAsset(keys));

    [Fact]
    public void An_empty_secret_file_is_refused()
    {
        File.WriteAllText(Path.Combine(_folder, "empty"), "\n");

        Assert.Equal($"asset 'phish': key 'password_file': file '{_folder}/empty' is empty", RefusedAsset("password_file = empty"));
    }

    [Fact]
    public void Asset_defaults_of_the_file_apply_to_every_asset_and_an_asset_overrides_them()
    {
        var settings = Parse("""
            imapactors {
              asset-defaults { poll_interval = 5m, folder = "Reported", password = ${?PHISH_PASSWORD}, username = shared }
              assets {
                a { server = a.example.org }
                b { server = b.example.org, poll_interval = 10s, folders = [x, y], password_env = PHISH_PASSWORD }
              }
            }
            """);

        Assert.Equal([TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(10)], settings.Assets.Select(a => a.PollInterval));
        Assert.Equal([new FolderName("Reported")], settings.Assets[0].Folders);
        Assert.Equal([new FolderName("x"), new FolderName("y")], settings.Assets[1].Folders);
        Assert.All(settings.Assets, a => Assert.Equal("s3cret", a.Password!.Value));
    }

    [Fact]
    public void OAuth_with_google_takes_the_reference_defaults_and_scopes_as_a_json_string()
    {
        _environment["GOOGLE_SECRET"] = "gs";
        var oauth = ParseAsset("""
            auth_type = OAuth, client_id = "cid", client_secret = ${?GOOGLE_SECRET}
            scopes = "[\"https://mail.google.com/\", \"email\"]"
            """).Assets[0].OAuth!;

        Assert.Equal("google", oauth.Provider);
        Assert.Equal("cid", oauth.ClientId);
        Assert.Equal("gs", oauth.ClientSecret!.Value);
        Assert.Equal("https://accounts.google.com/o/oauth2/auth", oauth.AuthUrl);
        Assert.Equal("https://oauth2.googleapis.com/token", oauth.TokenUrl);
        Assert.Equal(["https://mail.google.com/", "email"], oauth.Scopes);
        Assert.Equal(("XOAUTH2", "authorization_code", 8765), (oauth.Mechanism, oauth.GrantType, oauth.RedirectPort));
    }

    [Fact]
    public void OAuth_with_microsoft_app_only_fills_in_the_tenant()
    {
        _environment["MS_SECRET"] = "ms";
        var oauth = ParseAsset("""
            auth_type = OAuth, provider = microsoft, grant_type = client_credentials, tenant = "contoso.onmicrosoft.com"
            client_id = "cid", client_secret_env = MS_SECRET, oauth_mechanism = OAUTHBEARER, redirect_port = 9000
            """).Assets[0].OAuth!;

        Assert.Equal("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", oauth.TokenUrl);
        Assert.Equal(["https://outlook.office365.com/.default"], oauth.Scopes);
        Assert.Equal(("microsoft", "contoso.onmicrosoft.com", "OAUTHBEARER", 9000), (oauth.Provider, oauth.Tenant, oauth.Mechanism, oauth.RedirectPort));
    }

    [Fact]
    public void Bad_oauth_settings_are_refused()
    {
        _environment["S"] = "s";
        var problems = Refused(Asset("""
            auth_type = OAuth, client_id = c, client_secret = ${?S}
            provider = yahoo, oauth_mechanism = PLAIN, grant_type = implicit, scopes = "mail", token_url = "not a url"
            """));

        Assert.Equal(
        [
            "asset 'phish': key 'provider': must be google or microsoft, got 'yahoo'",
            "asset 'phish': key 'grant_type': must be authorization_code or client_credentials, got 'implicit'",
            "asset 'phish': key 'scopes': must be a list of strings: [\"a\", \"b\"] or a JSON list in a string, got 'mail'",
            "asset 'phish': key 'token_url': must be an absolute http(s) URL, got 'not a url'",
            "asset 'phish': key 'oauth_mechanism': must be XOAUTH2 or OAUTHBEARER, got 'PLAIN'",
        ], problems);
        Assert.Equal("asset 'phish': key 'tenant': client_credentials needs the directory's own tenant (its id or domain), got 'organizations'",
            RefusedAsset("auth_type = OAuth, client_id = c, client_secret = ${?S}, provider = microsoft, grant_type = client_credentials"));
        Assert.Equal("asset 'phish': key 'grant_type': client_credentials is not available with provider 'google' (use microsoft)",
            RefusedAsset("auth_type = OAuth, client_id = c, client_secret = ${?S}, grant_type = client_credentials"));
    }

    [Fact]
    public void Load_resolves_relative_paths_against_the_file_folder()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_folder, "etc")).FullName;
        File.WriteAllText(Path.Combine(sub, "pw"), "x");
        File.WriteAllText(Path.Combine(sub, "engine.conf"), """
            imapactors {
              storage.connection-string = "Data Source=state/db.sqlite;Cache=Shared"
              vault.path = "../vault"
              assets.phish { server = s, username = u, password_file = pw }
            }
            """);

        var settings = EngineConfig.Load(Path.Combine(sub, "engine.conf"));

        var connection = new SqliteConnectionStringBuilder(settings.Storage.ConnectionString);
        Assert.Equal(Path.Combine(sub, "state", "db.sqlite"), connection.DataSource);
        Assert.Equal(SqliteCacheMode.Shared, connection.Cache);
        Assert.Equal(Path.Combine(_folder, "vault"), settings.VaultPath);
    }

    [Fact]
    public void One_load_gives_the_engine_settings_and_the_token_store_with_paths_relative_to_the_file()
    {
        var sub = Directory.CreateDirectory(Path.Combine(_folder, "etc")).FullName;
        File.WriteAllText(Path.Combine(sub, "tokens.key"), "a2V5\n");
        File.WriteAllText(Path.Combine(sub, "engine.conf"), """
            imapactors {
              oauth { token-store = "state/tokens", key_file = "tokens.key" }
              assets.phish { server = s, username = u, password_env = PHISH_PASSWORD }
            }
            """);

        var configuration = EngineConfig.LoadConfiguration(Path.Combine(sub, "engine.conf"), name => _environment.GetValueOrDefault(name));

        Assert.Equal("phish", Assert.Single(configuration.Engine.Assets).Name.Value);
        Assert.Equal(Path.Combine(sub, "vault"), configuration.Engine.VaultPath);
        Assert.Equal(Path.Combine(sub, "state", "tokens"), configuration.OAuthStore.TokenStorePath);
        Assert.Equal("a2V5", configuration.OAuthStore.Key!.Value);
    }

    [Theory]
    [InlineData("imapactors { assets = [ }", "not valid HOCON: '}' on line 1 closes nothing (the '[' of line 1 is still open)")]
    [InlineData("imapactors {\n assets { \n", "not valid HOCON: the '{' of line 2 is never closed")]
    [InlineData("a = ]", "not valid HOCON: ']' on line 1 closes nothing")]
    public void Unbalanced_brackets_are_refused_before_parsing(string hocon, string expected) =>
        Assert.Equal(expected, Assert.Single(Refused(hocon)));

    [Fact]
    public void A_syntax_error_is_a_configuration_exception() =>
        Assert.StartsWith("configuration: not valid HOCON:", Assert.Single(Refused("imapactors = =")), StringComparison.Ordinal);

    [Fact]
    public void The_shipped_example_loads_when_its_secrets_exist()
    {
        var example = File.ReadAllText(Path.Combine(Testing.RepoPaths.Root, "hocon", "example.conf"))
            .Replace("/run/secrets/m365-client-secret", "m365", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_folder, "m365"), "secret\n");
        Directory.CreateDirectory(Path.Combine(_folder, "certs"));
        File.WriteAllText(Path.Combine(_folder, "certs", "example-ca.pem"), "");

        var settings = Parse(example);

        Assert.Equal(["phish", "m365"], settings.Assets.Select(a => a.Name.Value));
        Assert.All(settings.Assets, a => Assert.Equal(TimeSpan.FromMinutes(2), a.PollInterval));
    }

    [Fact]
    public void The_docker_cluster_configuration_loads_for_each_node_the_compose_file_starts()
    {
        _environment["IMAPACTORS_PG"] = "Host=postgres;Port=5432;Username=imapactors;Password=imapactors;Database=imapactors";
        _environment["IMAPACTORS_SOC_PASSWORD"] = "soc-password";
        File.WriteAllText(Path.Combine(_folder, "cert.pem"), "");
        var text = File.ReadAllText(Path.Combine(Testing.RepoPaths.Root, "docker", "config", "cluster.conf"))
            .Replace("/dovecot-state/dovecot/tls/cert.pem", "cert.pem", StringComparison.Ordinal);
        var compose = File.ReadAllText(Path.Combine(Testing.RepoPaths.Root, "docker", "compose.yaml"));
        foreach (var node in new[] { "node-1", "node-2", "node-3" })
        {
            Assert.Contains($"IMAPACTORS_CLUSTER_HOSTNAME: {node}", compose, StringComparison.Ordinal);
            _environment["IMAPACTORS_CLUSTER_HOSTNAME"] = node;
            var settings = Parse(text);
            Assert.Equal(($"{node}:4053", true, VaultStore.Database), (settings.Cluster.NodeName, settings.Cluster.Enabled, settings.Vault.Store));
            Assert.Equal(["node-1:4053", "node-2:4053", "node-3:4053"], settings.Cluster.SeedNodes);
        }
    }

    [Fact]
    public void The_docker_configuration_loads_with_the_environment_the_compose_file_sets()
    {
        _environment["IMAPACTORS_PG"] = "Host=postgres;Port=5432;Username=imapactors;Password=imapactors;Database=imapactors";
        _environment["IMAPACTORS_SOC_PASSWORD"] = "soc-password";
        _environment["IMAPACTORS_API_KEY"] = "demo-key-replace-me-with-openssl-rand";
        File.WriteAllText(Path.Combine(_folder, "cert.pem"), "");
        var settings = Parse(File.ReadAllText(Path.Combine(Testing.RepoPaths.Root, "docker", "config", "imapactors.conf"))
            .Replace("/dovecot-state/dovecot/tls/cert.pem", "cert.pem", StringComparison.Ordinal));

        Assert.Equal(StorageProvider.PostgreSql, settings.Storage.Provider);
        Assert.Equal((true, "0.0.0.0", 8484), (settings.Http.Enabled, settings.Http.Bind, settings.Http.Port));
        Assert.Equal(ApiScopes.Read | ApiScopes.Act, Assert.Single(settings.ApiKeys).Scopes);
        var asset = Assert.Single(settings.Assets);
        Assert.Equal(("dovecot", 993, "soc-password"), (asset.Server, asset.Port, asset.Password!.Value));
    }

    [Fact]
    public void The_embedded_defaults_are_the_documented_file_and_know_only_asset_keys()
    {
        Assert.Equal(File.ReadAllText(Path.Combine(Testing.RepoPaths.Root, "hocon", "imapactors.defaults.conf")), EngineConfig.DefaultsText);
        var defaults = Akka.Configuration.ConfigurationFactory.ParseString(EngineConfig.DefaultsText);
        var assetDefaults = defaults.GetConfig("imapactors.asset-defaults").AsEnumerable().Select(kv => kv.Key);
        Assert.All(assetDefaults, key => Assert.Contains(key, EngineConfig.AssetKeys));
        // Every asset key is documented in the defaults file, set or in a comment.
        Assert.All(EngineConfig.AssetKeys, key => Assert.Contains(key, EngineConfig.DefaultsText, StringComparison.Ordinal));
    }
}
