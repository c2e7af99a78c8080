using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Mail.OAuth;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.OAuth;

/// <summary><c>imapactors oauth authorize</c> and <c>run</c> with OAuth, as an operator runs them; the test plays the browser.</summary>
[Collection(OAuthEngineCollection.Name)]
public sealed class OAuthCommandTests(OAuthEngineFixture fixture) : IDisposable
{
    private static readonly HttpClient Browser = new(new HttpClientHandler { AllowAutoRedirect = false });
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("imapactors-oauth-cli-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public async Task Authorize_signs_in_through_the_loopback_redirect_and_run_then_ingests_with_the_stored_tokens()
    {
        var (config, env, asset, user) = WriteConfig(withKey: true);
        fixture.Dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(0, 3).Select(n => new SampleMail(7).Make(n)));
        fixture.Server.AuthorizeAs = user.Name;

        using var process = CliProcess.Start(env, "oauth", "authorize", "--config", config, "--asset", asset);
        var stdout = new StringBuilder();
        var url = await ReadUrlAsync(process, stdout);
        using var authorize = await Browser.GetAsync(url);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        using var callback = await Browser.GetAsync(authorize.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, callback.StatusCode);
        var (exit, rest, err) = await FinishAsync(process);
        stdout.Append(rest);

        Assert.True(exit == 0, err);
        Assert.Contains($"Signed in: the tokens of asset '{asset}' are stored", stdout.ToString(), StringComparison.Ordinal);
        var store = new TokenStore(Path.Combine(_dir, "tokens"), _key);
        var stored = store.Load(new AssetName(asset))!;
        Assert.Contains(stored.RefreshToken!, fixture.Server.IssuedRefreshTokens);
        AssertNoToken(stdout + err);

        var (runExit, runOut, runErr) = await CliProcess.RunAsync(env, Limit, "run", "--config", config, "--once");
        Assert.True(runExit == 0, runErr);
        Assert.Contains($"{asset}/inbox: 3 fetched", runOut, StringComparison.Ordinal);
        AssertNoToken(runOut + runErr);
    }

    [Fact]
    public async Task Authorize_rejects_a_redirect_with_a_wrong_state_and_stores_nothing()
    {
        var (config, env, asset, user) = WriteConfig(withKey: true);
        fixture.Server.AuthorizeAs = user.Name;

        using var process = CliProcess.Start(env, "oauth", "authorize", "--config", config, "--asset", asset);
        var url = await ReadUrlAsync(process, new StringBuilder());
        using var authorize = await Browser.GetAsync(url);
        var forged = authorize.Headers.Location!.ToString().Split("&state=")[0] + "&state=" + Guid.NewGuid().ToString("N");
        using var callback = await Browser.GetAsync(new Uri(forged));
        var (exit, _, err) = await FinishAsync(process);

        Assert.Equal(HttpStatusCode.BadRequest, callback.StatusCode);
        Assert.Equal(1, exit);
        Assert.Contains("the redirect carried a state that this sign-in did not send", err, StringComparison.Ordinal);
        Assert.Contains("nothing was stored", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "tokens")) && Directory.EnumerateFiles(Path.Combine(_dir, "tokens")).Any());
    }

    [Fact]
    public async Task Run_refuses_an_OAuth_asset_without_a_token_store_key()
    {
        var (config, env, asset, _) = WriteConfig(withKey: false);

        var (exit, _, err) = await CliProcess.RunAsync(env, Limit, "run", "--config", config, "--once");

        Assert.Equal(2, exit);
        Assert.Contains($"asset '{asset}' uses OAuth but no token-store key is configured", err, StringComparison.Ordinal);
        Assert.Contains("head -c 32 /dev/urandom | base64", err, StringComparison.Ordinal);
    }

    private (string Config, Dictionary<string, string> Env, string Asset, DovecotUser User) WriteConfig(bool withKey)
    {
        var user = fixture.Dovecot.CreateUser("oc");
        var (id, secret) = fixture.NewClient();
        var asset = "oauth-" + user.Name;
        var port = LoopbackPorts.Unused();
        File.WriteAllText(Path.Combine(_dir, "tokens.key"), Convert.ToBase64String(_key) + "\n");
        var text = $$"""
            imapactors {
              storage { provider = sqlite, connection-string = "Data Source=imapactors.db" }
              vault { path = "vault" }
              oauth { {{(withKey ? "key_file = \"tokens.key\"" : "")}} }
              assets {
                "{{asset}}" {
                  server = "{{fixture.Dovecot.Host}}", port = {{fixture.Dovecot.TlsPort.ToString(CultureInfo.InvariantCulture)}}, ca_file = "{{fixture.Dovecot.CaFile}}"
                  username = "{{user.Name}}", auth_type = OAuth, client_id = "{{id}}", client_secret = ${?IMAPACTORS_TEST_CLIENT_SECRET}
                  auth_url = "{{fixture.Server.AuthUrl}}", token_url = "{{fixture.Server.TokenUrl}}", scopes = ["https://mail.example/imap", "offline_access"]
                  redirect_port = {{port.ToString(CultureInfo.InvariantCulture)}}
                }
              }
            }
            """;
        var path = Path.Combine(_dir, "imapactors.conf");
        File.WriteAllText(path, text);
        return (path, new Dictionary<string, string> { ["IMAPACTORS_TEST_CLIENT_SECRET"] = secret }, asset, user);
    }

    private static async Task<Uri> ReadUrlAsync(Process process, StringBuilder stdout)
    {
        using var cts = new CancellationTokenSource(Limit);
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            stdout.AppendLine(line);
            if (line.StartsWith("http", StringComparison.Ordinal))
            {
                return new Uri(line);
            }
        }

        throw new InvalidOperationException($"no URL printed: {stdout}{await process.StandardError.ReadToEndAsync(cts.Token)}");
    }

    private static async Task<(int Exit, string Out, string Err)> FinishAsync(Process process)
    {
        using var cts = new CancellationTokenSource(Limit);
        var rest = process.StandardOutput.ReadToEndAsync(cts.Token);
        var err = process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await rest, await err);
    }

    private void AssertNoToken(string text)
    {
        foreach (var token in fixture.Server.IssuedRefreshTokens.Concat(fixture.Server.IssuedAccessTokens))
        {
            Assert.DoesNotContain(token, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(Convert.ToBase64String(_key), text, StringComparison.Ordinal);
    }


    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
