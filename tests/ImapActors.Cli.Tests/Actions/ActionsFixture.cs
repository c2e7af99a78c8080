using System.Text;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>Configuration files and helpers for the action tests: every asset key the actions read, secrets from the environment.</summary>
internal static class ActionsFixture
{
    public static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Runs <c>imapactors</c> with a configuration written for <paramref name="harness"/>'s settings.</summary>
    public static Task<(int Exit, string Out, string Err)> RunCliAsync(EngineHarness harness, params string[] args)
    {
        var (path, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        return CliProcess.RunAsync(env, CliTimeout, [args[0], "--config", path, .. args[1..]]);
    }

    public static IEnumerable<byte[]> Samples(int seed, int count)
    {
        var generator = new SampleMail(seed);
        return Enumerable.Range(0, count).Select(n => generator.Make(n));
    }


    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();
}
