using System.Diagnostics;
using System.Text;
using ImapActors.Domain;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>Runs the built <c>imapactors</c> command in a child process, as an operator would.</summary>
internal static class CliProcess
{
    /// <summary>The CLI assembly next to the test assembly (the project reference copies it).</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "imapactors.dll");

    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartDll(Dll, environment, args);

    /// <summary>Starts the <c>imapactors</c> of <paramref name="dll"/> (another build, to compare with).</summary>
    public static Process StartDll(string dll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        return process;
    }

    /// <summary>Runs to the end and returns the exit code, standard output and standard error.</summary>
    public static Task<(int Exit, string Out, string Err)> RunAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout,
        params string[] args) => RunDllAsync(Dll, environment, timeout, args);

    /// <summary><see cref="RunAsync"/> with the <c>imapactors</c> of <paramref name="dll"/>.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunDllAsync(string dll, IReadOnlyDictionary<string, string> environment,
        TimeSpan timeout, params string[] args)
    {
        using var process = StartDll(dll, environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"imapactors {string.Join(' ', args)} did not finish within {timeout}: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A configuration file for <paramref name="settings"/> with every asset key the tests use, each password read from an environment variable.</summary>
    public static (string Path, Dictionary<string, string> Environment) WriteConfig(string directory, EngineSettings settings)
    {
        var env = new Dictionary<string, string> { ["IMAPACTORS_TEST_DB"] = settings.Storage.ConnectionString };
        var text = new StringBuilder();
        text.AppendLine("imapactors {");
        text.AppendLine($"  storage {{ provider = {(settings.Storage.Provider == StorageProvider.Sqlite ? "sqlite" : "postgresql")}, connection-string = ${{?IMAPACTORS_TEST_DB}} }}");
        var store = settings.Vault.Store == VaultStore.Database ? "database" : "file";
        text.AppendLine($"  vault {{ store = {store}, path = {Quote(settings.VaultPath)} }}");
        text.AppendLine($"  engine {{ fetch-batch-size = {settings.FetchBatchSize} }}");
        text.AppendLine("  assets {");
        var n = 0;
        foreach (var asset in settings.Assets)
        {
            var secret = $"IMAPACTORS_TEST_PASSWORD_{n++}";
            env[secret] = asset.Password!.Value;
            text.AppendLine($"    {Quote(asset.Name.Value)} {{");
            text.AppendLine($"      server = {Quote(asset.Server)}, port = {asset.Port}, use_ssl = {Bool(asset.UseSsl)}, verify_server_cert = {Bool(asset.VerifyServerCert)}");
            if (asset.CaFile is not null)
            {
                text.AppendLine($"      ca_file = {Quote(asset.CaFile)}");
            }

            text.AppendLine($"      username = {Quote(asset.Username)}, password = ${{?{secret}}}, timeout = {(int)asset.Timeout.TotalSeconds}s");
            text.AppendLine($"      folders = [{string.Join(", ", asset.Folders.Select(f => Quote(f.Value)))}]");
            text.AppendLine($"      ingest_manner = {(asset.IngestManner == IngestManner.LatestFirst ? "\"latest first\"" : "\"oldest first\"")}");
            text.AppendLine($"      first_run_max_emails = {asset.FirstRunMaxEmails}, max_emails = {asset.MaxEmails}");
            text.AppendLine("    }");
        }

        text.AppendLine("  }");
        text.AppendLine("}");
        var path = System.IO.Path.Combine(directory, "imapactors.conf");
        File.WriteAllText(path, text.ToString());
        return (path, env);
    }

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
