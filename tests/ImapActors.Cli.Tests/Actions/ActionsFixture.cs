using System.Net;
using System.Net.Sockets;
using System.Text;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;

namespace ImapActors.Cli.Tests.Actions;

/// <summary>Configuration files and helpers for the action tests: every asset key the actions read, secrets from the environment.</summary>
internal static class ActionsFixture
{
    public static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Writes a configuration for <paramref name="settings"/> (all asset keys the actions use) and returns it with its environment.</summary>
    public static (string Path, Dictionary<string, string> Environment) WriteConfig(string directory, EngineSettings settings)
    {
        var env = new Dictionary<string, string> { ["IMAPACTORS_TEST_DB"] = settings.Storage.ConnectionString };
        var text = new StringBuilder();
        text.AppendLine("imapactors {");
        text.AppendLine($"  storage {{ provider = {(settings.Storage.Provider == StorageProvider.Sqlite ? "sqlite" : "postgresql")}, connection-string = ${{?IMAPACTORS_TEST_DB}} }}");
        text.AppendLine($"  vault {{ path = {Quote(settings.VaultPath)} }}");
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
        var path = System.IO.Path.Combine(directory, "actions.conf");
        File.WriteAllText(path, text.ToString());
        return (path, env);
    }

    /// <summary>Runs <c>imapactors</c> with a configuration written for <paramref name="harness"/>'s settings.</summary>
    public static Task<(int Exit, string Out, string Err)> RunCliAsync(EngineHarness harness, params string[] args)
    {
        var (path, env) = WriteConfig(harness.Directory, harness.Settings);
        return CliProcess.RunAsync(env, CliTimeout, [args[0], "--config", path, .. args[1..]]);
    }

    public static IEnumerable<byte[]> Samples(int seed, int count)
    {
        var generator = new SampleMail(seed);
        return Enumerable.Range(0, count).Select(n => generator.Make(n));
    }

    /// <summary>A loopback port nobody listens on.</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Bare LF becomes CRLF, as an IMAP server delivers messages (and as the reference's input was).</summary>
    public static byte[] ToCrlf(byte[] bytes)
    {
        var output = new MemoryStream(bytes.Length + bytes.Length / 40);
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r'))
            {
                output.WriteByte((byte)'\r');
            }

            output.WriteByte(bytes[i]);
        }

        return output.ToArray();
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
