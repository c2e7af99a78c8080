using System.Text.Json.Nodes;
using ImapActors.Host.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>"get email" by UID over the real Dovecot and by container id from the store and vault alone.</summary>
public sealed class GetEmailTests(ITestOutputHelper output)
{
    private static DovecotInstance Dovecot => TestServices.Dovecot;

    [Theory]
    [InlineData(Store.Sqlite, VaultStore.File)]
    [InlineData(Store.PostgreSql, VaultStore.Database)]
    public async Task By_uid_then_ingested_then_by_container_id_without_any_server_through_the_cli(Store store, VaultStore vault)
    {
        var user = Dovecot.CreateUser("get");
        var messages = ActionsFixture.Samples(7, 3).ToList();
        Dovecot.LoadMessages(user.Name, "INBOX", messages);
        using var harness = new EngineHarness(store, [Dovecot.Asset(user)], vault: vault);
        var asset = harness.Settings.Assets[0].Name.Value;
        using var expectedRaw = RawEmail.FromBytes(MessageBytes.ToCrlf(messages[1]));
        var expected = EmailHeaders.TopLevel(expectedRaw);

        var (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--id", "2", "--json");
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        var plain = JsonNode.Parse(stdout)!.AsObject();
        Assert.True(JsonNode.DeepEquals(expected, plain["data"]));
        Assert.Equal("Email not ingested.", plain["message"]!.GetValue<string>());
        Assert.False(plain.ContainsKey("summary"));
        Assert.Contains("Selected folder 'INBOX'", stderr, StringComparison.Ordinal);

        (exit, stdout, _) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--id", "2", "--ingest", "--json");
        Assert.Equal(0, exit);
        var ingested = JsonNode.Parse(stdout)!.AsObject();
        var containerId = ingested["summary"]!["container_id"]!.GetValue<long>();
        Assert.Equal($"Container id: {containerId}", ingested["message"]!.GetValue<string>());
        var container = Assert.Single(await harness.ContainersAsync());
        Assert.Equal((containerId, 2u), (container.Id, container.Uid));

        // The server is out of reach from here on: the configuration points at a port nobody listens on. With the vault in
        // the database, the rest runs as another node would, whose folder holds nothing.
        harness.Settings = harness.Settings with { Assets = [harness.Settings.Assets[0] with { Port = LoopbackPorts.Unused() }] };
        if (vault == VaultStore.Database)
        {
            Assert.False(Directory.Exists(harness.Settings.VaultPath));
            harness.Settings = harness.Settings with { VaultPath = Path.Combine(harness.Directory, "another-node-vault") };
        }

        var id = containerId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--container-id", id, "--id", "3", "--json");
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        var byContainer = JsonNode.Parse(stdout)!.AsObject();
        Assert.True(JsonNode.DeepEquals(expected, byContainer["data"]));
        Assert.Equal("Email not ingested.", byContainer["message"]!.GetValue<string>());

        (exit, stdout, _) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--container-id", id, "--ingest", "--json");
        Assert.Equal(0, exit);
        Assert.Equal(containerId, JsonNode.Parse(stdout)!["summary"]!["container_id"]!.GetValue<long>());
        Assert.Single(await harness.ContainersAsync());

        (exit, stdout, _) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset, "--container-id", id);
        Assert.Equal(0, exit);
        Assert.Contains($"Subject: {expected["Subject"]}", stdout, StringComparison.Ordinal);
        Assert.EndsWith("Email not ingested.", stdout.TrimEnd(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc", null, "Please provide a valid integer value in the id parameter")]
    [InlineData("1.5", null, "Please provide a valid integer value in the id parameter")]
    [InlineData("-1", null, "Please provide a valid non-negative integer value in the id parameter")]
    [InlineData("0", null, "Please provide a positive integer value in the id parameter")]
    [InlineData(null, "x", "Please provide a valid integer value in the container_id parameter")]
    [InlineData("3", "0", "Please provide a positive integer value in the container_id parameter")]
    [InlineData(null, null, "Please specify either id or container_id to get the email")]
    public async Task Parameters_are_validated_with_the_reference_messages(string? id, string? containerId, string message)
    {
        var asset = new AssetSettings { Name = new AssetName("a"), Server = "x.invalid", Username = "u" };
        using var harness = new EngineHarness(Store.Sqlite, []);

        var ex = await Assert.ThrowsAsync<ActionFailedException>(() =>
            harness.GetEmailAsync(asset, new GetEmailRequest { Id = id, ContainerId = containerId }));

        Assert.Equal(message, ex.Message);
        Assert.True(ex.IsUsageError);
    }

    [Fact]
    public async Task Uid_that_does_not_exist_and_container_that_does_not_exist_fail_clearly()
    {
        var user = Dovecot.CreateUser("getmiss");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(3, 2));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);
        var asset = harness.Settings.Assets[0];

        var missing = await Assert.ThrowsAsync<ActionFailedException>(() =>
            harness.GetEmailAsync(asset, new GetEmailRequest { Id = "999" }));
        Assert.StartsWith("No email with UID 999 in folder 'INBOX'", missing.Message, StringComparison.Ordinal);
        Assert.False(missing.IsUsageError);

        var noContainer = await Assert.ThrowsAsync<ActionFailedException>(() =>
            harness.GetEmailAsync(asset, new GetEmailRequest { ContainerId = "42" }));
        Assert.Equal("No container with id 42 in the store", noContainer.Message);

        var (exit, _, stderr) = await ActionsFixture.RunCliAsync(harness, "get-email", "--asset", asset.Name.Value, "--id", "999");
        Assert.Equal(1, exit);
        Assert.Contains("No email with UID 999", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Store.Sqlite, VaultStore.File)]
    [InlineData(Store.PostgreSql, VaultStore.Database)]
    public async Task Container_whose_raw_email_is_gone_from_the_store_and_the_vault_gives_the_reference_message(Store database, VaultStore vault)
    {
        var user = Dovecot.CreateUser("getraw");
        Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(4, 1));
        using var harness = new EngineHarness(database, [Dovecot.Asset(user)], vault: vault);
        var asset = harness.Settings.Assets[0];
        var ingested = await harness.GetEmailAsync(asset, new GetEmailRequest { Id = "1", Ingest = true });
        await using (var store = ImapActors.Storage.ContainerStoreFactory.Create(harness.Settings.Storage))
        {
            var container = await store.GetContainerAsync(ingested.ContainerId!.Value, CancellationToken.None);
            // The raw email commits with its container (raw_emails); a large one would be a vault file instead. Both go.
            Assert.NotNull(container!.RawBytes);
            const string DeleteRaw = "DELETE FROM raw_emails WHERE container_id = @id";
            if (vault == VaultStore.File)
            {
                Assert.False(File.Exists(new FileVault(harness.Settings.VaultPath).PathOf(container.RawEmail)), "a small raw email has no vault file");
                await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(harness.Settings.Storage.ConnectionString);
                await connection.OpenAsync();
                await using var delete = new Microsoft.Data.Sqlite.SqliteCommand(DeleteRaw, connection);
                delete.Parameters.AddWithValue("@id", container.Summary.Id);
                Assert.Equal(1, await delete.ExecuteNonQueryAsync());
            }
            else
            {
                await using var connection = new Npgsql.NpgsqlConnection(harness.Settings.Storage.ConnectionString);
                await connection.OpenAsync();
                await using var delete = new Npgsql.NpgsqlCommand(
                    "DELETE FROM vault_chunks WHERE vault_id = @vid; DELETE FROM vault_content WHERE vault_id = @vid; " + DeleteRaw, connection);
                delete.Parameters.AddWithValue("vid", container.RawEmail.Value);
                delete.Parameters.AddWithValue("id", container.Summary.Id);
                await delete.ExecuteNonQueryAsync();
            }
        }

        var ex = await Assert.ThrowsAsync<ActionFailedException>(() => harness.GetEmailAsync(asset,
            new GetEmailRequest { ContainerId = ingested.ContainerId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) }));

        Assert.Equal(GetEmail.NoRawEmailMessage, ex.Message);
    }

    [CorpusFact(withExpected: true)]
    public async Task Corpus_headers_over_imap_agree_with_the_reference_as_well_as_the_library_does()
    {
        var corpus = RepoPaths.RequiredCorpus;
        var expectedDir = RepoPaths.RequiredCorpusExpected;

        var files = Directory.GetFiles(expectedDir, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(json => Path.GetRelativePath(expectedDir, json).Replace('\\', '/')[..^5])
            .ToList();
        var bytes = files.Select(rel => MessageBytes.ToCrlf(File.ReadAllBytes(Path.Combine(corpus, rel + ".eml")))).ToList();
        var user = Dovecot.CreateUser("corpus");
        Assert.Equal(files.Count, Dovecot.LoadMessages(user.Name, "Corpus", bytes));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user, true, "Corpus")]);
        var asset = harness.Settings.Assets[0];

        // The bytes the server serves, to check the action returns exactly what the library makes of them.
        var served = new Dictionary<uint, byte[]>();
        await using (var session = await ImapSession.ConnectAsync(asset, null, null, CancellationToken.None))
        {
            await session.ExamineAsync("Corpus", CancellationToken.None);
            var uids = Enumerable.Range(1, files.Count).Select(i => (uint)i).ToList();
            await foreach (var email in session.FetchAsync(uids, long.MaxValue, Path.GetTempPath(), CancellationToken.None))
            {
                using var raw = email.Raw;
                served[email.Uid] = raw.ToArray();
            }
        }

        int values = 0, imapOk = 0, libraryOk = 0, messagesOk = 0, bytesDiffer = 0;
        await using var engine = await ImapActors.Host.IngestionEngine.StartAsync(harness.Settings, new ImapActors.Host.EngineOptions(),
            CancellationToken.None);
        for (var i = 0; i < files.Count; i++)
        {
            var uid = (uint)(i + 1);
            var result = await engine.GetEmail.RunAsync(asset,
                new GetEmailRequest { Id = uid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, null, CancellationToken.None);
            using (var servedRaw = RawEmail.FromBytes(served[uid]))
            {
                Assert.True(JsonNode.DeepEquals(EmailHeaders.TopLevel(servedRaw), result.Data), files[i]);
            }

            using var localRaw = RawEmail.FromBytes(bytes[i]);
            var library = EmailHeaders.TopLevel(localRaw);
            bytesDiffer += served[uid].AsSpan().SequenceEqual(bytes[i]) ? 0 : 1;
            var reference = JsonNode.Parse(File.ReadAllText(Path.Combine(expectedDir, files[i] + ".json")))!["get_email_headers"]!.AsObject();
            var allSame = true;
            foreach (var (key, value) in reference)
            {
                values++;
                var same = result.Data[key]?.ToString() == value?.ToString();
                imapOk += same ? 1 : 0;
                libraryOk += library[key]?.ToString() == value?.ToString() ? 1 : 0;
                allSame &= same;
            }

            messagesOk += allSame && result.Data.Count == reference.Count ? 1 : 0;
        }

        output.WriteLine($"get-email over IMAP: {imapOk}/{values} header values equal to the reference; {messagesOk}/{files.Count} messages identical");
        output.WriteLine($"library on the corpus bytes: {libraryOk}/{values} values equal; {bytesDiffer} messages served with other bytes than loaded");
        Assert.True(imapOk >= libraryOk, $"over IMAP {imapOk} < library {libraryOk}");
    }
}
