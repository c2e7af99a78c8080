using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Http;

/// <summary>
/// <c>imapactors run</c> serving the API over HTTPS from a PEM certificate and key, while its mailbox's server stops and
/// comes back: the mailbox turns stale with one warning in the log, not one per check, and one line when it recovers.
/// </summary>
public sealed class HttpsWatchdogTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Over_https_a_stopped_server_makes_one_stale_warning_and_one_recovery_line()
    {
        var dovecot = TestServices.StartPrivateDovecot("httpswatch");
        var user = dovecot.CreateUser("watch");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(94, 3));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user) with { Timeout = TimeSpan.FromSeconds(5) }]);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        var certificate = dovecot.CaFile;
        var key = Path.Combine(Path.GetDirectoryName(certificate)!, "key.pem");
        var apiKey = HttpApiFixture.NewKey();
        env["IMAPACTORS_TEST_KEY"] = apiKey;
        File.AppendAllText(config, $$"""
            imapactors.assets."{{harness.Settings.Assets[0].Name.Value}}" { poll_interval = 2s, idle = false, retry_min = 1s, retry_max = 2s }
            imapactors.http { enabled = true, port = 0, tls { certificate-file = "{{certificate}}", key-file = "{{key}}" } }
            imapactors.api-keys.ops { key_env = "IMAPACTORS_TEST_KEY", scopes = [read] }
            """);

        var log = new ConcurrentQueue<string>();
        using var process = CliProcess.Start(env, "run", "--config", config);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await HttpSecretsTests.WaitForAddressAsync(log, process);
            Assert.Equal("https", address.Scheme);
            using var trusted = X509CertificateLoader.LoadCertificateFromFile(certificate);
            using var handler = new HttpClientHandler
            {
                // Trust exactly the test server's self-signed certificate, as a client given its CA file would.
                ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert is not null && cert.Thumbprint == trusted.Thumbprint,
            };
            using var http = new HttpClient(handler) { BaseAddress = address };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            async Task<string> State() =>
                JsonNode.Parse(await http.GetStringAsync("/api/v1/mailboxes"))!["mailboxes"]![0]!["state"]!.GetValue<string>();

            await HttpSecretsTests.WaitAsync(async () => await State() == "polling");
            dovecot.Stop();
            var stopped = Stopwatch.StartNew();
            await HttpSecretsTests.WaitAsync(async () => await State() == "stale");
            output.WriteLine($"stale {stopped.Elapsed.TotalSeconds:0.0} s after the server stopped");
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(3 * 2 + 3), $"stale only after {stopped.Elapsed}");

            // Several watchdog checks and failed attempts later, still one warning.
            await Task.Delay(TimeSpan.FromSeconds(6));
            dovecot.Start();
            await HttpSecretsTests.WaitAsync(async () => await State() == "polling");
            await Task.Delay(TimeSpan.FromSeconds(3));

            var lines = log.ToArray();
            var warnings = lines.Count(l => l.Contains("is stale: no successful poll for", StringComparison.Ordinal));
            var recoveries = lines.Count(l => l.Contains("polls again, no longer stale", StringComparison.Ordinal));
            // Compact JSON lines: the failure's cause is a property of its own.
            var failures = lines.Count(l => l.Contains("\"Cause\":\"ConnectionRefused\"", StringComparison.Ordinal));
            output.WriteLine($"{warnings} stale warning(s), {recoveries} recovery line(s), {failures} failure lines");
            Assert.Equal(1, warnings);
            Assert.Equal(1, recoveries);
            Assert.True(failures >= 3, "the mailbox kept trying while its server was down");

            Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)));
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            dovecot.Start();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
