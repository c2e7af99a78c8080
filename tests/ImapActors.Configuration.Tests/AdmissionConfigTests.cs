using ImapActors.Domain;

namespace ImapActors.Configuration.Tests;

/// <summary>The engine's admission section: <c>imapactors.engine.admission { max-emails, max-bytes }</c>.</summary>
public sealed class AdmissionConfigTests
{
    private const string Asset = """
        imapactors.assets.phish { server = "mail.example.org", username = "soc", password_env = "PHISH_PASSWORD" }
        """;

    private static EngineSettings Parse(string hocon) => EngineConfig.Parse(hocon, Path.GetTempPath(), name => name == "PHISH_PASSWORD" ? "s3cret" : null);

    [Fact]
    public void Without_the_section_the_documented_defaults_apply()
    {
        var admission = Parse(Asset).Admission;
        Assert.Equal(new AdmissionSettings(), admission);
        Assert.Equal((400, 256L * 1024 * 1024), (admission.MaxEmails, admission.MaxBytes));
    }

    [Fact]
    public void The_section_sets_both_bounds_with_sizes_in_binary_units()
    {
        var admission = Parse(Asset + "\nimapactors.engine.admission { max-emails = 64, max-bytes = 32M }").Admission;
        Assert.Equal((64, 32L * 1024 * 1024), (admission.MaxEmails, admission.MaxBytes));
    }

    [Theory]
    [InlineData("max-emails = 0", "key 'imapactors.engine.admission.max-emails': must be a positive integer, got 0")]
    [InlineData("max-bytes = lots", "key 'imapactors.engine.admission.max-bytes': must be a positive size such as 1048576, 512k, 4M or 1G, got 'lots'")]
    [InlineData("max-email = 5", "key 'imapactors.engine.admission.max-email': unknown key (did you mean 'max-emails'?)")]
    public void Bad_bounds_are_refused(string body, string expected) =>
        Assert.Equal(expected, Assert.Single(Assert.Throws<ConfigurationException>(() =>
            Parse(Asset + $"\nimapactors.engine.admission {{ {body} }}")).Problems));
}
