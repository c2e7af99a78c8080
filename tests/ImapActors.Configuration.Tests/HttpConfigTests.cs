using ImapActors.Domain;

namespace ImapActors.Configuration.Tests;

/// <summary>
/// <c>imapactors.http</c> (where the API listens, TLS) and <c>imapactors.api-keys</c> (who may call it). The environment
/// is this test's dictionary, never the process's.
/// </summary>
public sealed class HttpConfigTests : IDisposable
{
    private const string Asset = """
        imapactors.assets.phish { server = "mail.example.org", username = "soc", password_env = "PHISH_PASSWORD" }
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-http-config-").FullName;

    private readonly Dictionary<string, string> _environment = new()
    {
        ["PHISH_PASSWORD"] = "s3cret",
        ["KEY_SOAR"] = "0123456789abcdef0123456789abcdef",
        ["KEY_GRAFANA"] = "fedcba9876543210fedcba9876543210",
        ["KEY_SHORT"] = "short",
    };

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private EngineSettings Parse(string hocon) =>
        EngineConfig.Parse(Asset + "\n" + hocon, _folder, name => _environment.GetValueOrDefault(name));

    private IReadOnlyList<string> Refused(string hocon) => Assert.Throws<ConfigurationException>(() => Parse(hocon)).Problems;

    [Fact]
    public void Without_the_sections_the_api_is_off_on_loopback_port_8484_with_no_key()
    {
        var settings = Parse("");
        Assert.Equal(new HttpSettings { Enabled = false, Bind = "127.0.0.1", Port = 8484, MetricsRequireKey = false }, settings.Http);
        Assert.Empty(settings.ApiKeys);
    }

    [Fact]
    public void Keys_come_from_the_environment_or_a_file_with_their_scopes()
    {
        File.WriteAllText(Path.Combine(_folder, "grafana.key"), _environment["KEY_GRAFANA"] + "\n");
        var settings = Parse("""
            imapactors.http { enabled = true, bind = "0.0.0.0", port = 0, metrics-require-key = true }
            imapactors.api-keys {
              soar { key = ${?KEY_SOAR}, scopes = [read, act] }
              grafana { key_file = "grafana.key", scopes = [read] }
            }
            """);

        Assert.Equal((true, "0.0.0.0", 0, true), (settings.Http.Enabled, settings.Http.Bind, settings.Http.Port, settings.Http.MetricsRequireKey));
        Assert.Equal(["soar", "grafana"], settings.ApiKeys.Select(k => k.Name));
        Assert.Equal(ApiScopes.Read | ApiScopes.Act, settings.ApiKeys[0].Scopes);
        Assert.Equal(ApiScopes.Read, settings.ApiKeys[1].Scopes);
        Assert.Equal(_environment["KEY_GRAFANA"], settings.ApiKeys[1].Key.Current());
        Assert.Equal("***", settings.ApiKeys[0].Key.ToString());
    }

    [Fact]
    public void A_key_written_in_the_file_short_shared_or_without_scopes_is_refused_without_echoing_it()
    {
        var problems = Refused("""
            imapactors.api-keys {
              literal { key = "0123456789abcdef0123456789abcdef", scopes = [read] }
              short { key_env = "KEY_SHORT", scopes = [read] }
              first { key_env = "KEY_SOAR", scopes = [read] }
              second { key_env = "KEY_SOAR", scopes = [act] }
              noscope { key_env = "KEY_GRAFANA" }
              badscope { key_env = "KEY_GRAFANA", scopes = [write] }
              missing { scopes = [read] }
            }
            """);

        Assert.Contains("key 'imapactors.api-keys.literal.key': a secret written in the configuration file is refused; use key = ${?NAME}, key_env = \"NAME\" or key_file = \"/path/to/file\"", problems);
        Assert.Contains("key 'imapactors.api-keys.short.key': is 5 characters long, and an API key needs at least 16; make one with: openssl rand -hex 32", problems);
        Assert.Contains("key 'imapactors.api-keys.second.key': is the same key as api-keys.first: each key must be its own, or a log could not say who called", problems);
        Assert.Contains("key 'imapactors.api-keys.noscope.scopes': is required: [read] (lists, containers, files) or [read, act] (also the actions and retries)", problems);
        Assert.Contains("key 'imapactors.api-keys.badscope.scopes': knows read and act, got 'write'", problems);
        Assert.Contains(problems, p => p.StartsWith("key 'imapactors.api-keys.missing.key': is required", StringComparison.Ordinal));
        Assert.All(problems, p => Assert.DoesNotContain("0123456789abcdef", p, StringComparison.Ordinal));
        Assert.All(problems, p => Assert.DoesNotContain("short\"", p, StringComparison.Ordinal));
    }

    [Fact]
    public void A_bind_that_is_no_address_a_port_out_of_range_and_unknown_keys_are_refused()
    {
        var problems = Refused("""
            imapactors.http { bind = "api.example.org", port = 70000, enable = true, tls { certificate-file = "missing.pem", cert = x } }
            """);

        Assert.Contains("key 'imapactors.http.bind': must be an IP address (127.0.0.1, 0.0.0.0 for every interface, ::) or localhost, got 'api.example.org'", problems);
        Assert.Contains("key 'imapactors.http.port': must be a port number from 1 to 65535, or 0 for any free port", problems.Select(p => p.Split(", got")[0]));
        Assert.Contains("key 'imapactors.http.enable': unknown key (did you mean 'enabled'?)", problems);
        Assert.Contains(problems, p => p.StartsWith("key 'imapactors.http.tls.certificate-file': file '", StringComparison.Ordinal) && p.EndsWith("missing.pem' not found", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("key 'imapactors.http.tls.cert': unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public void Tls_takes_a_certificate_and_its_key_relative_to_the_configuration()
    {
        File.WriteAllText(Path.Combine(_folder, "server.pem"), "");
        File.WriteAllText(Path.Combine(_folder, "server.key"), "");
        var http = Parse("""imapactors.http.tls { certificate-file = "server.pem", key-file = "server.key" }""").Http;
        Assert.Equal(Path.Combine(_folder, "server.pem"), http.TlsCertificateFile);
        Assert.Equal(Path.Combine(_folder, "server.key"), http.TlsKeyFile);
        Assert.Null(http.TlsPassword);
    }
}
