using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Actions;

/// <summary><c>imapactors test-connectivity</c> as an operator runs it, against the real Dovecot.</summary>
public sealed class TestConnectivityTests(ITestOutputHelper output)
{
    private static DovecotInstance Dovecot => TestServices.Dovecot;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Passes_over_implicit_tls_and_over_starttls_with_the_reference_progress(bool useSsl)
    {
        var user = Dovecot.CreateUser("conn");
        Dovecot.LoadMessages(user.Name, "Reported", ActionsFixture.Samples(1, 1));
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user, useSsl, "INBOX", "Reported")]);

        var (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "test-connectivity", "--asset", harness.Settings.Assets[0].Name.Value);
        output.WriteLine(stdout + stderr);

        Assert.Equal(0, exit);
        Assert.Equal(
            ["Initiated connection to server", "User logged in", "Got folder listing", "Selected folder 'INBOX'", "Selected folder 'Reported'", "Connectivity test passed"],
            ActionsFixture.Lines(stdout));
        Assert.DoesNotContain(user.Password, stdout + stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("unknown-host", "Server name does not resolve")]
    [InlineData("closed-port", "Connection refused")]
    [InlineData("self-signed", "Certificate not trusted")]
    [InlineData("wrong-password", "Authentication failed")]
    [InlineData("missing-folder", "Folder does not exist")]
    public async Task Fails_with_one_line_naming_its_cause_and_never_prints_the_password(string fault, string cause)
    {
        var user = Dovecot.CreateUser("connfail");
        var asset = Dovecot.Asset(user);
        asset = fault switch
        {
            "unknown-host" => asset with { Server = "x.invalid" },
            "closed-port" => asset with { Port = LoopbackPorts.Unused() },
            "self-signed" => asset with { CaFile = null },
            "wrong-password" => asset with { Password = new Secret("wrong-" + user.Password) },
            "missing-folder" => asset with { Folders = [new FolderName("INBOX"), new FolderName("No-Such-Folder")] },
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);

        var (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "test-connectivity", "--asset", asset.Name.Value);
        output.WriteLine(stdout + "--- stderr\n" + stderr);

        Assert.Equal(1, exit);
        Assert.Equal("Connectivity test failed", ActionsFixture.Lines(stdout)[^1]);
        var error = Assert.Single(ActionsFixture.Lines(stderr));
        Assert.StartsWith(cause + ": ", error, StringComparison.Ordinal);
        Assert.DoesNotContain(user.Password, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(asset.Password!.Value, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Connectivity test passed", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_asset_is_a_usage_error_listing_the_configured_assets()
    {
        var user = Dovecot.CreateUser("connasset");
        using var harness = new EngineHarness(Store.Sqlite, [Dovecot.Asset(user)]);

        var (exit, stdout, stderr) = await ActionsFixture.RunCliAsync(harness, "test-connectivity", "--asset", "nope");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("No asset named 'nope'", stderr, StringComparison.Ordinal);
        Assert.Contains(harness.Settings.Assets[0].Name.Value, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oauth_asset_without_a_token_source_fails_with_a_clear_message()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser("oauth")) with { AuthType = AuthType.OAuth };
        var progress = new List<string>();

        var result = await new ImapActors.Host.Actions.TestConnectivity(ImapActors.Host.AccessTokens.None, ImapActors.Mail.ImapSessionFactory.Default).RunAsync(asset, progress.Add, CancellationToken.None);

        Assert.False(result.Passed);
        Assert.Equal(["Connectivity test failed"], progress);
        Assert.Contains("uses OAuth", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_login_from_the_session_factory_is_reported_with_its_cause_and_the_failed_message()
    {
        var asset = new AssetSettings { Name = new AssetName("a"), Server = "imap.invalid", Username = "u", Folders = [new FolderName("INBOX")] };
        var progress = new List<string>();
        var refusing = new RefusingSessions(new ImapActors.Mail.ImapFailureException(ImapActors.Mail.ImapFailureCause.AuthenticationFailed, "LOGIN refused"));

        var result = await new ImapActors.Host.Actions.TestConnectivity(ImapActors.Host.AccessTokens.None, refusing)
            .RunAsync(asset, progress.Add, CancellationToken.None);

        Assert.Equal(1, refusing.Calls);
        Assert.False(result.Passed);
        Assert.Equal(ImapActors.Mail.ImapFailureCause.AuthenticationFailed, result.Cause);
        Assert.Equal("Authentication failed: LOGIN refused", result.Error);
        Assert.Equal(["Connectivity test failed"], progress);
    }

    private sealed class RefusingSessions(Exception failure) : ImapActors.Mail.IImapSessionFactory
    {
        public int Calls { get; private set; }

        public Task<ImapActors.Mail.IImapSession> ConnectAsync(AssetSettings asset, ImapActors.Mail.IAccessTokenProvider? tokens,
            Action<string>? progress, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromException<ImapActors.Mail.IImapSession>(failure);
        }
    }
}
