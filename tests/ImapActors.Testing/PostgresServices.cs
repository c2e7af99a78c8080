using System.Diagnostics;
using Npgsql;

namespace ImapActors.Testing;

/// <summary>
/// The PostgreSQL server for tests: <c>IMAPACTORS_PG</c> when set, else the private cluster of
/// <c>scripts/postgres.sh</c> (started, and installed, on first use).
/// </summary>
public static class PostgresServices
{
    private static readonly Lazy<string> ConnectionStringLazy = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The connection string of the <c>imapactors</c> database; its user may create databases.</summary>
    public static string ConnectionString => ConnectionStringLazy.Value;

    /// <summary>Creates an empty database named after <paramref name="prefix"/> and returns its connection string.</summary>
    public static string CreateDatabase(string prefix)
    {
        var safe = new string(prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        if (safe.Length > 30)
        {
            safe = safe[..30];
        }

        var name = $"t_{safe}_{Guid.NewGuid():N}"[..Math.Min(63, safe.Length + 35)];
        using (var connection = new NpgsqlConnection(ConnectionString))
        {
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            command.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    private static string Resolve()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("IMAPACTORS_PG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }

        var state = Environment.GetEnvironmentVariable("IMAPACTORS_STATE");
        var envFile = Path.Combine(string.IsNullOrEmpty(state) ? Path.Combine(RepoPaths.Root, ".state") : state, "postgres", "env");

        // An env file left by a stopped cluster names a dead port: only trust it when the server answers.
        if (File.Exists(envFile) && ReadEnvFile(envFile) is { } recorded && Answers(recorded))
        {
            return recorded;
        }

        RunStartScript();
        return ReadEnvFile(envFile) ?? throw new InvalidOperationException($"scripts/postgres.sh start wrote no connection string to {envFile}");
    }

    private static string? ReadEnvFile(string path)
    {
        const string prefix = "export IMAPACTORS_PG=";
        var line = File.ReadAllLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line?[prefix.Length..].Trim().Trim('\'');
    }

    private static bool Answers(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 3, Pooling = false };
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private static void RunStartScript()
    {
        var start = new ProcessStartInfo("bash")
        {
            ArgumentList = { Path.Combine(RepoPaths.Root, "scripts", "postgres.sh"), "start" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run bash");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/postgres.sh start failed ({process.ExitCode}): {stderr.Result}");
        }
    }
}
