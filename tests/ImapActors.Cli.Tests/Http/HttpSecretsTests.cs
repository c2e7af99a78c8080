using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Http;

/// <summary>
/// <c>imapactors run</c> with the HTTP API, as an operator runs it: its log, every answer and every file it writes
/// hold neither an API key nor the mailbox's password, whatever the callers send.
/// </summary>
public sealed partial class HttpSecretsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task No_key_or_password_appears_in_the_log_an_answer_or_a_file_of_a_running_engine()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("secrets");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(93, 20));
        dovecot.MakeUnservable(user.Name, "INBOX", 3);
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        var reader = HttpApiFixture.NewKey();
        var actor = HttpApiFixture.NewKey();
        env["IMAPACTORS_TEST_KEY_READ"] = reader;
        File.WriteAllText(Path.Combine(harness.Directory, "actor.key"), actor + "\n");
        File.AppendAllText(config, """
            imapactors.http { enabled = true, port = 0 }
            imapactors.api-keys {
              analysts { key = ${?IMAPACTORS_TEST_KEY_READ}, scopes = [read] }
              playbooks { key_file = "actor.key", scopes = [read, act] }
            }
            """);

        var log = new ConcurrentQueue<string>();
        using var process = CliProcess.Start(env, "run", "--config", config);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var answers = new List<string>();
        try
        {
            var address = await WaitForAddressAsync(log, process);
            using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
            async Task Call(HttpMethod method, string path, string? authorization, string? body = null)
            {
                using var request = new HttpRequestMessage(method, path);
                if (authorization is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", authorization);
                }

                if (body is not null)
                {
                    request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                }

                using var response = await http.SendAsync(request);
                answers.Add($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {await response.Content.ReadAsStringAsync()}");
            }

            var asset = harness.Settings.Assets[0].Name.Value;
            var password = harness.Settings.Assets[0].Password!.Value;
            await WaitAsync(async () => (await http.GetStringAsync("/api/v1/ready")).Contains("\"status\":\"ready\"", StringComparison.Ordinal));
            foreach (var authorization in new[] { null, "Bearer " + reader[..^2], "Bearer " + actor.ToUpperInvariant(), "Basic " + actor, "Bearer " + password })
            {
                await Call(HttpMethod.Get, "/api/v1/mailboxes", authorization);
                await Call(HttpMethod.Post, $"/api/v1/assets/{asset}/poll-now", authorization, "{\"container_count\": 2}");
            }

            await Call(HttpMethod.Get, "/api/v1/mailboxes", "Bearer " + reader);
            await Call(HttpMethod.Get, "/api/v1/containers?limit=5", "Bearer " + reader);
            await Call(HttpMethod.Get, "/metrics", null);
            await Call(HttpMethod.Post, $"/api/v1/assets/{asset}/poll-now", "Bearer " + reader, "{\"container_count\": 2}");
            await Call(HttpMethod.Post, $"/api/v1/assets/{asset}/test-connectivity", "Bearer " + actor);
            await Call(HttpMethod.Post, $"/api/v1/assets/{asset}/poll-now", "Bearer " + actor, "{\"container_count\": 5}");
            await Call(HttpMethod.Post, $"/api/v1/assets/{asset}/get-email", "Bearer " + actor, "{\"id\": 2, \"ingest_email\": true}");
            await Call(HttpMethod.Get, "/api/v1/quarantine", "Bearer " + actor);
            await Call(HttpMethod.Get, "/api/v1/ready", null);
            await Call(HttpMethod.Get, "/api/v1/openapi.json", null);
            // Every UID settled: 19 ingested, UID 3 quarantined.
            await WaitAsync(async () => PrometheusText.Parse(await http.GetStringAsync("/metrics"))
                .Any(s => s.Name == "imapactors_mailbox_committed_uids" && s.Value == 20));

            Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "run did not stop within 60 s of SIGTERM");
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);

            var lines = log.ToArray();
            output.WriteLine($"{lines.Length} log lines, {answers.Count} answers");
            Assert.Contains(lines, l => l.Contains("refused (401)", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("HTTP API: key", StringComparison.Ordinal) && l.Contains("playbooks", StringComparison.Ordinal));
            var files = Directory.EnumerateFiles(harness.Directory, "*", SearchOption.AllDirectories)
                .Where(f => !f.EndsWith("actor.key", StringComparison.Ordinal) && !f.EndsWith(".conf", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(files);
            foreach (var secret in new[] { reader, actor, actor.ToUpperInvariant(), reader[..^2], password })
            {
                Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
                Assert.DoesNotContain(answers, a => a.Contains(secret, StringComparison.Ordinal));
                foreach (var file in files)
                {
                    var bytes = await File.ReadAllBytesAsync(file);
                    Assert.False(Encoding.UTF8.GetString(bytes).Contains(secret, StringComparison.Ordinal), $"{file} holds a secret");
                }
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    internal static async Task<Uri> WaitForAddressAsync(ConcurrentQueue<string> log, Process process)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            foreach (var line in log)
            {
                if (line.Contains("HTTP API listening", StringComparison.Ordinal) && Listening().Match(line) is { Success: true } m)
                {
                    return new Uri(m.Value);
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("run did not log its HTTP address: " + string.Join("\n", log));
    }

    internal static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(200);
        }
    }

    [GeneratedRegex(@"https?://127\.0\.0\.1:\d+")]
    private static partial Regex Listening();
}
