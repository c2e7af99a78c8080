using ImapActors.Configuration;

namespace ImapActors.Cli.Tests.OAuth;

public sealed class OAuthStoreConfigTests
{
    private const string Base = """
        imapactors {
          storage { provider = sqlite }
          assets { a { server = "mail.example.org", username = "soc", password = ${?IMAPACTORS_CFG_TEST_PASSWORD} } }
        """;

    private static readonly Func<string, string?> Env = name => name switch
    {
        "IMAPACTORS_CFG_TEST_PASSWORD" => "pw",
        "IMAPACTORS_TOKEN_KEY" => "a2V5LWZyb20tZW52",
        _ => null,
    };

    [Fact]
    public void The_defaults_put_the_token_store_beside_the_configuration_and_set_no_key()
    {
        var store = EngineConfig.ParseOAuthStore(Base + "}", "/etc/imapactors", Env);
        Assert.Equal("/etc/imapactors/tokens", store.TokenStorePath);
        Assert.Null(store.Key);
    }

    [Fact]
    public void The_key_comes_from_an_environment_variable_or_a_file()
    {
        var fromEnv = EngineConfig.ParseOAuthStore(Base + """oauth { token-store = "/var/lib/imapactors/tokens", key_env = "IMAPACTORS_TOKEN_KEY" } }""", "/etc", Env);
        Assert.Equal("/var/lib/imapactors/tokens", fromEnv.TokenStorePath);
        Assert.Equal("a2V5LWZyb20tZW52", fromEnv.Key!.Value);

        var dir = Directory.CreateTempSubdirectory("imapactors-cfg-").FullName;
        File.WriteAllText(Path.Combine(dir, "tokens.key"), "ZmlsZS1rZXk=\n");
        var fromFile = EngineConfig.ParseOAuthStore(Base + """oauth { key_file = "tokens.key" } }""", dir, Env);
        Assert.Equal("ZmlsZS1rZXk=", fromFile.Key!.Value);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void A_key_written_in_the_file_and_unknown_keys_are_refused()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            EngineConfig.ParseOAuthStore(Base + """oauth { key = "c2VjcmV0", key-file = "x" } }""", "/etc", Env));
        Assert.Contains("key 'imapactors.oauth.key': a secret written in the configuration file is refused", e.Message, StringComparison.Ordinal);
        Assert.Contains("key 'imapactors.oauth.key-file': unknown key (did you mean 'key_file'?)", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_engine_settings_load_with_an_oauth_section()
    {
        var settings = EngineConfig.Parse(Base + """oauth { key_env = "IMAPACTORS_TOKEN_KEY" } }""", "/etc", Env);
        Assert.Single(settings.Assets);
    }
}
