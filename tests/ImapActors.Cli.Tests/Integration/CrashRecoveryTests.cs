using ImapActors.Cli.Samples;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>The engine in a child process, killed with SIGKILL while it ingests, then run to the end.</summary>
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.PostgreSql)]
    public async Task Killed_three_times_while_ingesting_3000_emails_ends_with_each_exactly_once(Store store)
    {
        // The kills come before the 1,900th container: a third of the mailbox is still to come at the last one, so the
        // engine (thousands of emails a second) cannot finish in the time the count query takes to see the threshold.
        const int total = 3000;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("crash");
        var generator = new SampleMail(21);
        dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(0, total).Select(n => generator.Make(n)));
        using var harness = new EngineHarness(store, [dovecot.Asset(user) with { MaxEmails = 500 }], fetchBatchSize: 50);
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);

        var random = new Random();
        var kills = new[] { random.Next(100, 700), random.Next(700, 1300), random.Next(1300, 1900) };
        foreach (var threshold in kills)
        {
            using var process = CliProcess.Start(env, "run", "--once", "--config", config);
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            var deadline = DateTimeOffset.UtcNow.AddMinutes(3);
            long count;
            // A count query, not a listing: the engine commits hundreds of emails in the time a listing takes.
            while ((count = await harness.ContainerCountAsync()) < threshold && !process.HasExited)
            {
                Assert.True(DateTimeOffset.UtcNow < deadline, $"no progress to {threshold} containers (at {count})");
                await Task.Delay(random.Next(5, 40));
            }

            Assert.False(process.HasExited, $"the engine finished before the kill at {threshold} (exit {(process.HasExited ? process.ExitCode : 0)})");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            output.WriteLine($"SIGKILL at {count} containers (aimed at {threshold})");
        }

        var (exit, stdout, stderr) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(4), "run", "--once", "--config", config);
        output.WriteLine(stdout);
        Assert.True(exit == 0, stderr);
        Assert.Contains($"{harness.Settings.Assets[0].Name.Value}/INBOX: ", stdout, StringComparison.Ordinal);

        var containers = await harness.ContainersAsync();
        Assert.Equal(total, containers.Count);
        Assert.Equal(total, containers.Select(c => (c.Asset, c.Folder, c.UidValidity, c.Uid)).Distinct().Count());
        Assert.Equal(total, containers.Select(c => c.MessageId).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, total).Select(i => (uint)i), containers.Select(c => c.Uid).Order());
    }
}
