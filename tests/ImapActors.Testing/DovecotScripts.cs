using System.Diagnostics;
using System.Text;

namespace ImapActors.Testing;

/// <summary>Runs the repository's scripts and doveadm, surfacing their error output in exceptions.</summary>
internal static class DovecotScripts
{
    // Installing Dovecot on a fresh machine is the slowest thing a script does.
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    /// <summary>Runs <c>bash script args…</c>; returns its standard output.</summary>
    public static string Run(string script, IReadOnlyDictionary<string, string?> env, params string[] args) =>
        RunProgram("bash", env, [script, .. args]);

    /// <summary>Runs a program with extra environment (null removes a variable); returns its standard output.</summary>
    /// <exception cref="InvalidOperationException">It exited with a non-zero status or ran too long.</exception>
    public static string RunProgram(string program, IReadOnlyDictionary<string, string?> env, params string[] args) =>
        RunProgram(program, env, args, []).Out;

    /// <summary>
    /// Runs a program as <see cref="RunProgram(string, IReadOnlyDictionary{string, string?}, string[])"/> does, taking
    /// the exit statuses in <paramref name="accepted"/> as well as 0; returns the status with the standard output.
    /// </summary>
    /// <exception cref="InvalidOperationException">It exited with another status or ran too long.</exception>
    public static (int Exit, string Out) RunProgram(string program, IReadOnlyDictionary<string, string?> env, string[] args, int[] accepted)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Describe(program, args)} did not finish within {Limit.TotalMinutes} minutes: {stderr}");
        }

        process.WaitForExit();
        if (process.ExitCode != 0 && !accepted.Contains(process.ExitCode))
        {
            throw new InvalidOperationException($"{Describe(program, args)} exited with {process.ExitCode}: {stderr.ToString().Trim()}");
        }

        return (process.ExitCode, stdout.ToString());
    }

    /// <summary>Reads <c>export KEY=VALUE</c> lines (as scripts/dovecot.sh env prints them).</summary>
    public static Dictionary<string, string> ParseExports(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].Trim();
            }

            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#'))
            {
                continue;
            }

            var value = line[(eq + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '\'' || value[0] == '"') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            result[line[..eq]] = value;
        }

        return result;
    }

    // Never echo adduser's password into an exception message.
    private static string Describe(string program, string[] args) =>
        args.Length > 1 && args[1] == "adduser" ? $"{program} {args[0]} adduser {args.ElementAtOrDefault(2)}" : $"{program} {string.Join(' ', args)}";
}
