using ImapActors.Domain;

namespace ImapActors.Configuration.Tests;

/// <summary><c>imapactors.destinations</c> and each asset's <c>deliver_to</c> and <c>soar_asset_id</c>.</summary>
public sealed class DestinationConfigTests
{
    private readonly Dictionary<string, string> _environment = new()
    {
        ["PHISH_PASSWORD"] = "s3cret",
        ["SOAR_TOKEN"] = "token-value",
        ["HOOK_SECRET"] = "hook-secret-value",
    };

    private EngineSettings Parse(string hocon) =>
        EngineConfig.Parse(hocon, Path.GetTempPath(), name => _environment.GetValueOrDefault(name));

    private IReadOnlyList<string> Refused(string hocon) => Assert.Throws<ConfigurationException>(() => Parse(hocon)).Problems;

    private static string Asset(string name, string keys) =>
        $$"""imapactors.assets.{{name}} { server = "mail.example.org", username = "soc", password_env = "PHISH_PASSWORD", {{keys}} }""" + "\n";

    [Fact]
    public void Without_destinations_nothing_is_delivered()
    {
        var settings = Parse(Asset("phish", ""));
        Assert.Empty(settings.Destinations);
        Assert.Empty(settings.Assets[0].DeliverTo);
        Assert.Null(settings.Assets[0].SoarAssetId);
    }

    [Fact]
    public void A_soar_and_a_webhook_destination_with_their_secrets_and_the_defaults()
    {
        var settings = Parse(Asset("phish", "deliver_to = [soar, siem], soar_asset_id = 12") + """
            imapactors.http.public-url = "https://ingest.example.org:8484"
            imapactors.destinations {
              soar { type = soar, url = "https://soar.example.org", token = ${?SOAR_TOKEN}, label = phishing, severity = high, concurrency = 2 }
              siem { type = webhook, url = "https://siem.example.org/hook", secret_env = "HOOK_SECRET", retry_max = 10m }
            }
            """);

        var soar = settings.Destinations.Single(d => d.Name == "soar");
        Assert.Equal((DestinationType.Soar, "https://soar.example.org/", "token-value", "phishing", "high", 2),
            (soar.Type, soar.Url.ToString(), soar.Token!.Current(), soar.Label, soar.Severity, soar.Concurrency));
        Assert.Equal((50, true, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5)),
            (soar.MaxAttempts, soar.VerifyServerCert, soar.Timeout, soar.Retry.Min, soar.Retry.Max));
        var siem = settings.Destinations.Single(d => d.Name == "siem");
        Assert.Equal((DestinationType.Webhook, "hook-secret-value", TimeSpan.FromMinutes(10)), (siem.Type, siem.Secret!.Current(), siem.Retry.Max));
        Assert.Equal(["soar", "siem"], settings.Assets[0].DeliverTo);
        Assert.Equal(12, settings.Assets[0].SoarAssetId);
        Assert.Equal(new Uri("https://ingest.example.org:8484"), settings.Http.PublicUrl);
    }

    [Fact]
    public void A_soar_delivery_without_a_soar_asset_id_is_refused_saying_why()
    {
        var problems = Refused(Asset("phish", "deliver_to = [soar]") + """
            imapactors.destinations.soar { type = soar, url = "https://soar.example.org", token_env = "SOAR_TOKEN" }
            """);

        var problem = Assert.Single(problems);
        Assert.StartsWith("asset 'phish': key 'soar_asset_id' is required to deliver to the soar destination 'soar': SOAR takes two containers", problem,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Two_assets_delivering_to_one_soar_as_the_same_soar_asset_are_refused()
    {
        var problems = Refused(Asset("a", "deliver_to = [soar], soar_asset_id = 3") + Asset("b", "deliver_to = [soar], soar_asset_id = 3") + """
            imapactors.destinations.soar { type = soar, url = "https://soar.example.org", token_env = "SOAR_TOKEN" }
            """);

        Assert.Contains("assets 'a' and 'b' deliver to 'soar' as SOAR asset 3", Assert.Single(problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_destinations_missing_or_literal_secrets_and_bad_urls_are_refused_without_echoing_a_secret()
    {
        var problems = Refused(Asset("phish", "deliver_to = [nowhere, hook, hook]") + """
            imapactors.destinations {
              soar { type = soar, url = "https://soar.example.org", token = "literal-token" }
              hook { type = webhook, url = "ftp://siem.example.org", token_env = "SOAR_TOKEN" }
              what { url = "https://x.example.org", secret_env = "HOOK_SECRET" }
              odd { type = kafka, url = "https://x.example.org" }
            }
            """);

        Assert.Contains("key 'imapactors.destinations.soar.token': a secret written in the configuration file is refused; use token = ${?NAME}, token_env = \"NAME\" or token_file = \"/path/to/file\"", problems);
        Assert.Contains("key 'imapactors.destinations.hook.url': must be an absolute http:// or https:// URL, got 'ftp://siem.example.org'", problems);
        Assert.Contains(problems, p => p.StartsWith("key 'imapactors.destinations.hook.secret': is required for a webhook destination", StringComparison.Ordinal));
        Assert.Contains("key 'imapactors.destinations.hook.token_env': belongs to a soar destination; a webhook sends the container as it is, signed with secret", problems);
        Assert.Contains("key 'imapactors.destinations.what.type': is required: soar (Splunk SOAR's REST API) or webhook (a signed JSON POST)", problems);
        Assert.Contains(problems, p => p.StartsWith("key 'imapactors.destinations.odd.type':", StringComparison.Ordinal));
        Assert.All(problems, p => Assert.DoesNotContain("literal-token", p, StringComparison.Ordinal));
    }

    [Fact]
    public void An_asset_naming_a_destination_that_does_not_exist_is_refused()
    {
        var problems = Refused(Asset("phish", "deliver_to = [nowhere, hook, hook]") + """
            imapactors.destinations.hook { type = webhook, url = "https://siem.example.org/hook", secret_env = "HOOK_SECRET" }
            """);

        Assert.Contains("asset 'phish': key 'deliver_to': no destination 'nowhere' in imapactors.destinations (configured: hook)", problems);
        Assert.Contains("asset 'phish': key 'deliver_to': 'hook' is listed twice; each destination gets a container once", problems);
    }
}
