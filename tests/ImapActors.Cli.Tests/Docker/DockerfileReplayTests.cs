using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using ImapActors.Testing;

namespace ImapActors.Cli.Tests.Docker;

/// <summary>
/// docker/Dockerfile's build stage, replayed without Docker by scripts/docker-replay.sh (no Docker engine where the
/// tests run): what the image build would copy, restore and publish, and whether the result starts.
/// </summary>
public sealed class DockerfileReplayTests
{
    private static string Script => Path.Combine(RepoPaths.Root, "scripts", "docker-replay.sh");

    [Fact]
    public async Task Every_project_under_src_is_copied_into_the_restore_layer_and_every_step_can_be_replayed()
    {
        var (exit, output) = await RunAsync("bash", [Script, "--check"], TimeSpan.FromMinutes(1));

        Assert.True(exit == 0, $"scripts/docker-replay.sh --check exited with {exit}:\n{output}");
    }

    [Fact]
    public async Task The_build_stage_publishes_an_imapactors_that_answers_help()
    {
        // Outside the repository: MSBuild and .editorconfig look in parent folders, which would hide a missing COPY.
        var scratch = Path.Combine(Path.GetTempPath(), "imapactors-docker-replay-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            // A ReadyToRun publish: a minute or two on an idle machine, several on a busy one.
            var (exit, output) = await RunAsync("bash", [Script, "--scratch", scratch], TimeSpan.FromMinutes(20));
            Assert.True(exit == 0, $"scripts/docker-replay.sh exited with {exit}:\n{Tail(output)}");

            var published = Regex.Match(output, @"^docker-replay: published (\S+)$", RegexOptions.Multiline);
            Assert.True(published.Success, "no 'docker-replay: published PATH' line in:\n" + Tail(output));
            var binary = published.Groups[1].Value;
            Assert.StartsWith(scratch + Path.DirectorySeparatorChar, binary, StringComparison.Ordinal);
            Assert.Equal("imapactors", Path.GetFileName(binary));
            Assert.True(File.Exists(binary), binary + " does not exist");

            var (helpExit, help) = await RunAsync(binary, ["--help"], TimeSpan.FromMinutes(1));
            Assert.True(helpExit == 0, $"{binary} --help exited with {helpExit}:\n{help}");
            Assert.Contains("Usage:", help, StringComparison.Ordinal);
            Assert.Matches(new Regex(@"^\s+run\s", RegexOptions.Multiline), help);
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    /// <summary>Runs a child process to the end; standard output and standard error interleaved as they come.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}:\n{Tail(Snapshot())}");
        }

        return (process.ExitCode, Snapshot());

        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }
        }

        string Snapshot()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 60)));
    }
}
