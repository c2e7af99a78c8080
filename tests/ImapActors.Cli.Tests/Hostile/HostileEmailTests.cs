using System.Globalization;
using System.Text.Json.Nodes;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Hostile;

/// <summary>
/// Each hostile case of <see cref="HostileMail"/> through <c>imapactors parse --stats</c> in a process of its own, so that
/// its CPU time and peak memory are its own: exit 0, one container, CPU at most max(5 s, 1 s per MB), peak RSS at most
/// 512 MiB, the limit it hits named in the container's issues, and the indicator it tries to hide found.
/// </summary>
[Collection(HostileCollection.Name)]
public sealed class HostileEmailTests(ITestOutputHelper output) : IDisposable
{
    private const long MaxRss = 512L * 1024 * 1024;

    private readonly string _dir = Directory.CreateTempSubdirectory("imapactors-hostile-").FullName;

    public static TheoryData<string> Cases() => new(HostileMail.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Hostile_email_costs_a_bounded_amount_and_hides_nothing(string name)
    {
        var hostile = HostileMail.All.Single(c => c.Name == name);
        var path = Path.Combine(_dir, name + ".eml");
        var size = hostile.WriteTo(path);
        var megabytes = size / (1024.0 * 1024.0);
        var cpuBound = Math.Max(5.0, megabytes);

        var (exit, stdout, stderr) = await RunParseAsync(path, TimeSpan.FromSeconds(60 + 3 * cpuBound));
        File.Delete(path);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        var result = JsonNode.Parse(lines[0])!;
        var stats = JsonNode.Parse(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last())!;
        var cpu = stats["cpu_seconds"]!.GetValue<double>();
        var rss = stats["peak_rss_bytes"]!.GetValue<long>();
        var issues = result["issues"]!.AsArray().Select(i => i!["code"]!.GetValue<string>()).ToList();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {megabytes:0.0} MB, cpu {cpu:0.00} s (bound {cpuBound:0.0}), peak rss {rss / 1048576} MiB, wall {stats["wall_seconds"]} s, " +
            $"{result["artifact_count"]} artifacts, issues [{string.Join(", ", issues)}]"));

        Assert.True(cpu <= cpuBound, $"{name}: {cpu:0.00} s of CPU for {megabytes:0.0} MB");
        Assert.True(rss <= MaxRss, $"{name}: peak RSS {rss / 1048576} MiB");
        if (hostile.Issue is not null)
        {
            Assert.Contains(hostile.Issue, issues);
            var status = result["artifacts"]!.AsArray().Single(a => a!["name"]!.GetValue<string>() == "Email Ingestion Status");
            Assert.Contains(hostile.Issue, status!["cef"]!.ToJsonString(), StringComparison.Ordinal);
        }

        if (hostile.Indicator is not null)
        {
            var values = result["artifacts"]!.AsArray()
                .SelectMany(a => a!["cef"]!.AsObject().Select(p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null));
            Assert.Contains(hostile.Indicator, values);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// <c>imapactors parse --stats FILE</c> of this build, or of the build whose imapactors.dll IMAPACTORS_HOSTILE_CLI
    /// names (to measure an earlier build on the same cases: docs/hostile-input.md).
    /// </summary>
    private static Task<(int Exit, string Out, string Err)> RunParseAsync(string path, TimeSpan timeout)
    {
        var other = Environment.GetEnvironmentVariable("IMAPACTORS_HOSTILE_CLI");
        return CliProcess.RunDllAsync(string.IsNullOrEmpty(other) ? CliProcess.Dll : other, new Dictionary<string, string>(), timeout,
            "parse", "--stats", path);
    }
}

/// <summary>The hostile cases run one at a time: each measures the CPU and memory of its own process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollection
{
    public const string Name = "hostile";
}
