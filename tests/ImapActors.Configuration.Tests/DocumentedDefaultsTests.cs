namespace ImapActors.Configuration.Tests;

/// <summary>The documented defaults file and the settings records cannot drift: every key of a section table is compared.</summary>
public sealed class DocumentedDefaultsTests
{
    private static readonly (IReadOnlyList<EngineConfig.DocumentedDefault> Keys, IReadOnlyList<string> Problems) Documented =
        EngineConfig.DocumentedDefaults();

    public static TheoryData<string> KeysWithRecordDefaults() =>
        [.. Documented.Keys.Where(k => k.HasRecordDefault).Select(k => k.Key)];

    public static TheoryData<string> KeysWithoutRecordDefaults() =>
        [.. Documented.Keys.Where(k => !k.HasRecordDefault).Select(k => k.Key)];

    [Theory]
    [MemberData(nameof(KeysWithRecordDefaults))]
    public void The_documented_file_sets_the_key_to_the_default_of_its_settings_record(string key)
    {
        var documented = Documented.Keys.Single(k => k.Key == key);
        Assert.True(documented.IsSet, $"{key} is not set in hocon/imapactors.defaults.conf");
        Assert.Equal(documented.RecordDefault, documented.FileValue);
    }

    [Theory]
    [MemberData(nameof(KeysWithoutRecordDefaults))]
    public void A_key_without_a_record_default_is_documented_in_the_file(string key) =>
        Assert.Contains(key[(key.LastIndexOf('.') + 1)..], EngineConfig.DefaultsText, StringComparison.Ordinal);

    [Fact]
    public void The_documented_file_reads_without_problems_and_sets_no_key_the_tables_do_not_declare() =>
        Assert.Empty(Documented.Problems);

    [Fact]
    public void The_tables_cover_the_sections_they_replace()
    {
        var keys = Documented.Keys.Select(k => k.Key).ToHashSet();
        Assert.Contains("imapactors.engine.poison-max-attempts", keys);
        Assert.Contains("imapactors.engine.admission.max-bytes", keys);
        Assert.Contains("imapactors.engine.limits.max-time", keys);
        Assert.Contains("imapactors.storage.connection-string", keys);
        Assert.Contains("imapactors.vault.path", keys);
        Assert.Contains("imapactors.fips", keys);
        Assert.Contains("imapactors.cluster.seed-nodes", keys);
        Assert.Contains("imapactors.asset-defaults.poll_interval", keys);
        Assert.Contains("imapactors.asset-defaults.add_body_to_header_artifacts", keys);
    }
}
