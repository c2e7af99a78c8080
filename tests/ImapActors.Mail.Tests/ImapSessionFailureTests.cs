using System.Text;
using ImapActors.Domain;
using ImapActors.Testing;

namespace ImapActors.Mail.Tests;

public class ImapSessionFailureTests
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private static DovecotInstance Dovecot => TestServices.Dovecot;

    private CancellationToken Ct => _timeout.Token;

    [Fact]
    public async Task Unknown_host_fails_with_name_not_resolved()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { Server = "no-such-imap-host.invalid" };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.NameNotResolved, ex.Cause);
        Assert.Contains("no-such-imap-host.invalid", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Closed_port_fails_with_connection_refused()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { Port = LoopbackPorts.Unused() };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.ConnectionRefused, ex.Cause);
        Assert.Contains($"127.0.0.1:{asset.Port}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Self_signed_certificate_without_ca_file_is_not_trusted()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { CaFile = null };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.CertificateNotTrusted, ex.Cause);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Self_signed_certificate_without_ca_file_is_not_trusted_over_starttls()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser(), useSsl: false) with { CaFile = null };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.CertificateNotTrusted, ex.Cause);
    }

    [Fact]
    public async Task Certificate_for_another_name_fails_with_name_mismatch()
    {
        // The server also listens on 127.0.0.2, which its certificate (localhost, 127.0.0.1) does not name.
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { Server = Dovecot.AltHost };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.CertificateNameMismatch, ex.Cause);
        Assert.Contains(Dovecot.AltHost, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unverified_certificate_is_accepted_when_verification_is_off()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { CaFile = null, VerifyServerCert = false, Server = Dovecot.AltHost };

        await using var session = await ImapSession.ConnectAsync(asset, null, null, Ct);

        Assert.True(session.IsConnected);
    }

    [Fact]
    public async Task Localhost_name_matches_the_certificate()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser(), useSsl: false) with { Server = "localhost" };

        await using var session = await ImapSession.ConnectAsync(asset, null, null, Ct);

        Assert.True(session.IsConnected);
    }

    [Fact]
    public async Task Wrong_password_fails_with_authentication_failed_and_never_shows_it()
    {
        var user = Dovecot.CreateUser();
        const string wrong = "Wr0ng-Passw0rd-xyz";
        var asset = Dovecot.Asset(user) with { Password = new Secret(wrong) };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.AuthenticationFailed, ex.Cause);
        Assert.Contains($"'{user.Name}'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(user.Password, ex.ToString(), StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Missing_folder_fails_with_folder_not_found()
    {
        var user = Dovecot.CreateUser();
        await using var session = await ImapSession.ConnectAsync(Dovecot.Asset(user), null, null, Ct);

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => session.ExamineAsync("No Such Folder", Ct));

        Assert.Equal(ImapFailureCause.FolderNotFound, ex.Cause);
        Assert.Contains("'No Such Folder'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(user.Password, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Implicit_tls_against_the_plain_port_fails_with_a_protocol_error()
    {
        var asset = Dovecot.Asset(Dovecot.CreateUser()) with { Port = Dovecot.PlainPort };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.ProtocolError, ex.Cause);
        Assert.Contains("TLS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_port_without_starttls_is_refused_before_any_login()
    {
        await using var server = new FakeImapServer("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake ready", "IMAP4rev1 AUTH=PLAIN");
        var asset = FakeAsset(server.Port, useSsl: false);

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.StartTlsNotOffered, ex.Cause);
        Assert.DoesNotContain(server.Received, l => l.Contains("LOGIN", StringComparison.OrdinalIgnoreCase) || l.Contains("AUTHENTICATE", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("secret-password", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silent_server_fails_with_timeout()
    {
        await using var server = new FakeImapServer(null, "IMAP4rev1");
        var asset = FakeAsset(server.Port, useSsl: false) with { Timeout = TimeSpan.FromSeconds(1) };

        var ex = await ConnectFailsAsync(asset);

        Assert.Equal(ImapFailureCause.Timeout, ex.Cause);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Rejected_oauth_token_is_refreshed_once_and_retried()
    {
        static string Sasl(string token) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"user=soc@example.com\u0001auth=Bearer {token}\u0001\u0001"));
        await using var server = new FakeImapServer(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] fake ready",
            "IMAP4rev1 SASL-IR AUTH=XOAUTH2",
            (tag, command) =>
                command == "AUTHENTICATE XOAUTH2 " + Sasl("fresh-token") ? [tag + " OK Logged in"]
                : command.StartsWith("AUTHENTICATE XOAUTH2", StringComparison.Ordinal) ? [tag + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"]
                : null,
            implicitTls: true);
        var tokens = new FakeTokens("stale-token", "fresh-token");
        var asset = OAuthAsset(server.Port);
        var progress = new List<string>();

        await using var session = await ImapSession.ConnectAsync(asset, tokens, progress.Add, Ct);

        Assert.True(session.IsConnected);
        Assert.Equal([false, true], tokens.Requests);
        Assert.Equal([ImapSession.ConnectedProgress, ImapSession.LoggedInProgress], progress);
        Assert.Equal(2, server.Received.Count(l => l.Contains("AUTHENTICATE XOAUTH2", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Oauth_login_that_stays_rejected_fails_with_authentication_failed_and_hides_the_token()
    {
        await using var server = new FakeImapServer(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] fake ready",
            "IMAP4rev1 SASL-IR AUTH=XOAUTH2",
            (tag, command) => command.StartsWith("AUTHENTICATE", StringComparison.Ordinal) ? [tag + " NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)"] : null,
            implicitTls: true);
        var tokens = new FakeTokens("token-one", "token-two");

        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(OAuthAsset(server.Port), tokens, null, Ct));

        Assert.Equal(ImapFailureCause.AuthenticationFailed, ex.Cause);
        Assert.Equal([false, true], tokens.Requests);
        Assert.DoesNotContain("token-", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oauth_without_a_token_source_fails_with_token_unavailable()
    {
        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(OAuthAsset(LoopbackPorts.Unused()), null, null, Ct));

        Assert.Equal(ImapFailureCause.TokenUnavailable, ex.Cause);
    }

    private static AssetSettings OAuthAsset(int port) => FakeAsset(port, useSsl: true) with
    {
        AuthType = AuthType.OAuth,
        Username = "soc@example.com",
        Password = null,
        OAuth = new OAuthSettings(),
        VerifyServerCert = false,
    };

    private async Task<ImapFailureException> ConnectFailsAsync(AssetSettings asset)
    {
        var ex = await Assert.ThrowsAsync<ImapFailureException>(() => ImapSession.ConnectAsync(asset, null, null, Ct));
        if (asset.Password is { } password)
        {
            Assert.DoesNotContain(password.Value, ex.ToString(), StringComparison.Ordinal);
        }

        return ex;
    }

    private static AssetSettings FakeAsset(int port, bool useSsl) => new()
    {
        Name = new AssetName("fake"),
        Server = "127.0.0.1",
        Port = port,
        UseSsl = useSsl,
        Username = "soc",
        Password = new Secret("secret-password"),
        Timeout = TimeSpan.FromSeconds(10),
    };


    private sealed class FakeTokens(params string[] tokens) : IAccessTokenProvider
    {
        private int _next;

        public List<bool> Requests { get; } = [];

        public Task<string> GetAccessTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
        {
            Requests.Add(forceRefresh);
            return Task.FromResult(tokens[Math.Min(_next++, tokens.Length - 1)]);
        }
    }
}
