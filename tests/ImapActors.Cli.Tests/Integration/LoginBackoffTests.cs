using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>
/// A wrong password against a production-like Dovecot (refusals answered after 2 s, every password check logged):
/// <c>run</c> backs off by the login schedule, checks the password once per attempt, logs one line per failure, and
/// takes a rotated password file at its next attempt.
/// </summary>
public sealed class LoginBackoffTests(ITestOutputHelper output) : IDisposable
{
    private readonly DovecotInstance _dovecot = TestServices.StartPrivateDovecot("login-backoff", production: true);

    [Fact]
    public async Task A_refused_login_backs_off_checks_the_password_once_per_attempt_and_a_rotated_password_file_is_picked_up()
    {
        var user = _dovecot.CreateUser("lockout");
        _dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(1, 3).Select(i => Encoding.ASCII.GetBytes(
            $"From: a@example.org\r\nTo: soc@example.org\r\nSubject: report {i}\r\nMessage-ID: <{i}@lockout.test>\r\n\r\nbody {i}\r\n")));
        using var harness = new EngineHarness(Store.Sqlite, [_dovecot.Asset(user)]);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        var passwordFile = Path.Combine(harness.Directory, "password");
        File.WriteAllText(passwordFile, "not-" + user.Password + "\n");

        // The login schedule shortened to 2 s doubling up to 8 s, so a few attempts fit in the test; the rest is the default.
        var text = File.ReadAllText(config).Replace("password = ${?IMAPACTORS_TEST_PASSWORD_0}",
            $"password_file = \"{passwordFile}\", login_retry_min = 2s, login_retry_max = 8s, poll_interval = 1s", StringComparison.Ordinal);
        File.WriteAllText(config, text);

        using var process = CliProcess.Start(env, "run", "--config", config);
        var lines = ErrorLines(process);
        var stdout = process.StandardOutput.ReadToEndAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(40));
            var failures = FailureLines(lines);
            var checks = _dovecot.LogLinesOf(user.Name).Count(l => l.Contains("Password mismatch", StringComparison.Ordinal));
            output.WriteLine($"{failures.Count} failures logged, {checks} password checks on the server");
            foreach (var failure in failures)
            {
                output.WriteLine(failure.Line);
            }

            // The old behaviour: a retry about 1 s after each 2 s refusal, three password checks each: 13 attempts, 39 checks.
            Assert.InRange(failures.Count, 4, 7);
            Assert.InRange(checks, failures.Count, failures.Count + 1);

            // Each wait is at least four fifths of the schedule's 2, 4, 8, 8... s, on top of the server's 2 s refusal.
            for (var i = 1; i < failures.Count; i++)
            {
                var gap = (failures[i].At - failures[i - 1].At).TotalSeconds;
                var least = 0.8 * Math.Min(2 * Math.Pow(2, i - 1), 8);
                Assert.True(gap >= least, $"wait {i} was {gap:0.0} s, under {least:0.0} s");
            }

            Assert.All(failures, f =>
            {
                Assert.Contains("AuthenticationFailed", f.Line, StringComparison.Ordinal);
                Assert.Contains("next attempt at", f.Line, StringComparison.Ordinal);
                Assert.False(f.HasException, "a failure is one line, without a stack trace");
            });

            // The password file is read again at each attempt: the right password is taken without a restart.
            File.WriteAllText(passwordFile, user.Password + "\n");
            var rotated = Stopwatch.StartNew();
            while ((await harness.ContainersAsync()).Count < 3)
            {
                Assert.True(rotated.Elapsed < TimeSpan.FromSeconds(30), "the rotated password was not taken within 30 s");
                Assert.False(process.HasExited, "run ended");
                await Task.Delay(200);
            }

            output.WriteLine($"ingested {rotated.Elapsed.TotalSeconds:0.0} s after the password file changed");
        }
        finally
        {
            if (!process.HasExited)
            {
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await process.WaitForExitAsync(cts.Token);
            }

            output.WriteLine(await stdout);
        }
    }

    [SoakFact]
    public async Task With_the_default_schedule_a_wrong_password_is_checked_at_most_six_times_in_five_minutes()
    {
        var user = _dovecot.CreateUser("lockout5");
        using var harness = new EngineHarness(Store.Sqlite, [_dovecot.Asset(user)]);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        env["IMAPACTORS_TEST_PASSWORD_0"] = "not-" + user.Password;

        using var process = CliProcess.Start(env, "run", "--config", config);
        var lines = ErrorLines(process);
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(5));
            var failures = FailureLines(lines);
            var checks = _dovecot.LogLinesOf(user.Name).Count(l => l.Contains("Password mismatch", StringComparison.Ordinal));
            output.WriteLine($"5 minutes: {failures.Count} failures logged, {checks} password checks on the server");
            foreach (var failure in failures)
            {
                output.WriteLine(failure.Line);
            }

            Assert.InRange(checks, 1, 6);
            Assert.InRange(failures.Count, checks - 1, checks);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Collects the process's standard error, line by line, as it comes.</summary>
    private static List<string> ErrorLines(Process process)
    {
        var lines = new List<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        return lines;
    }

    /// <summary>The engine's failure lines (compact JSON, as <c>run</c> writes them when standard error is not a terminal).</summary>
    private static List<(DateTimeOffset At, string Line, bool HasException)> FailureLines(List<string> lines)
    {
        lock (lines)
        {
            var found = new List<(DateTimeOffset, string, bool)>();
            foreach (var line in lines.Where(l => l.StartsWith('{')))
            {
                using var json = JsonDocument.Parse(line);
                var root = json.RootElement;
                if (root.TryGetProperty("@mt", out var template) && template.GetString()!.StartsWith("Mailbox {Mailbox} failed", StringComparison.Ordinal))
                {
                    found.Add((root.GetProperty("@t").GetDateTimeOffset(), line, root.TryGetProperty("@x", out _)));
                }
            }

            return found;
        }
    }

    public void Dispose() => _dovecot.Stop();
}
