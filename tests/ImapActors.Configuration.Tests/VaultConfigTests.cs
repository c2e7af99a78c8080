using ImapActors.Configuration;
using ImapActors.Domain;

namespace ImapActors.Configuration.Tests;

/// <summary><c>imapactors.vault</c>: which store keeps the files, and the folder vault a clustered node accepts.</summary>
public sealed class VaultConfigTests : IDisposable
{
    private const string SharedFolderProblem = "key 'imapactors.vault.store': a clustered node cannot keep the vault in a folder of its own; "
        + "set store = database, or shared = true when every node mounts the same folder at vault.path";

    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-vault-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private EngineSettings Parse(string vault) => EngineConfig.Parse($$"""
        imapactors {
          {{vault}}
          assets.phish { server = "mail.example.org", username = "soc", password = ${?PHISH_PASSWORD} }
        }
        """, _folder, name => name == "PHISH_PASSWORD" ? "s3cret" : null);

    [Fact]
    public void The_default_is_a_folder_vault_as_before()
    {
        var settings = Parse("");

        Assert.Equal(new VaultSettings { Store = VaultStore.File, Shared = false }, settings.Vault);
        Assert.Equal(Path.Combine(_folder, "vault"), settings.VaultPath);
    }

    [Theory]
    [InlineData("vault.store = database", VaultStore.Database, false)]
    [InlineData("vault { store = file, shared = true }", VaultStore.File, true)]
    public void Store_and_shared_are_read(string vault, VaultStore store, bool shared) =>
        Assert.Equal(new VaultSettings { Store = store, Shared = shared }, Parse(vault).Vault);

    [Fact]
    public void The_database_store_is_allowed_with_sqlite() =>
        Assert.Equal(StorageProvider.Sqlite, Parse("vault.store = database").Storage.Provider);

    [Theory]
    [InlineData("vault.store = postgres", "key 'imapactors.vault.store': must be file or database, got 'postgres'")]
    [InlineData("vault.shared = maybe", "key 'imapactors.vault.shared': must be true or false, got 'maybe'")]
    [InlineData("vault.kind = file", "key 'imapactors.vault.kind': unknown key")]
    public void A_wrong_vault_key_is_one_line(string vault, string problem) =>
        Assert.Equal(problem, Assert.Single(Assert.Throws<ConfigurationException>(() => Parse(vault)).Problems));

    [Fact]
    public void A_clustered_node_refuses_a_folder_vault_not_declared_shared() =>
        Assert.Equal([SharedFolderProblem], EngineConfig.Validate(Clustered(new VaultSettings())));

    [Theory]
    [InlineData(VaultStore.File, true)]
    [InlineData(VaultStore.Database, false)]
    public void A_clustered_node_accepts_a_shared_folder_or_the_database(VaultStore store, bool shared) =>
        Assert.Empty(EngineConfig.Validate(Clustered(new VaultSettings { Store = store, Shared = shared })));

    [Fact]
    public void A_single_node_keeps_its_folder_vault() =>
        Assert.Empty(EngineConfig.Validate(Parse("")));

    // The cluster section is read by its own table; these settings are what it makes of "cluster.enabled = true".
    private EngineSettings Clustered(VaultSettings vault) =>
        Parse("") with { Vault = vault, Cluster = new ClusterSettings { Enabled = true, SeedNodes = ["10.0.0.1:4053"] } };
}
