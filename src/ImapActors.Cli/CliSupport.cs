using System.CommandLine;
using ImapActors.Configuration;
using ImapActors.Domain;
using Serilog;
using Serilog.Events;

namespace ImapActors.Cli;

/// <summary>Options and helpers the verbs share.</summary>
internal static class CliSupport
{
    /// <summary>Exit code for bad input or configuration.</summary>
    public const int UsageError = 2;

    public static Option<FileInfo> ConfigOption() => new("--config", "-c")
    {
        Description = "The engine's HOCON configuration file.",
        Required = true,
    };

    /// <summary>Loads the engine's settings, or prints why they are refused and returns null.</summary>
    public static EngineSettings? LoadSettings(FileInfo file) => LoadConfiguration(file)?.Engine;

    /// <summary>
    /// Parses the configuration once, the engine's settings with the OAuth token store's, or prints why it is refused and
    /// returns null.
    /// </summary>
    public static LoadedConfiguration? LoadConfiguration(FileInfo file)
    {
        if (!file.Exists)
        {
            Console.Error.WriteLine($"Configuration file '{file.FullName}' does not exist.");
            return null;
        }

        try
        {
            return EngineConfig.LoadConfiguration(file.FullName);
        }
        catch (ConfigurationException ex)
        {
            Console.Error.WriteLine($"Configuration '{file.FullName}' refused:");
            Console.Error.WriteLine(ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Serilog to standard error: readable lines on a terminal, compact JSON otherwise so a log collector keeps every
    /// property (mailbox, asset, UID) as a field.
    /// </summary>
    public static void ConfigureLogging(LogEventLevel minimum)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Is(minimum)
            .MinimumLevel.Override("Akka", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        config = Console.IsErrorRedirected
            ? config.WriteTo.Console(new Serilog.Formatting.Compact.CompactJsonFormatter(), standardErrorFromLevel: LogEventLevel.Verbose)
            : config.WriteTo.Console(
                outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose);
        Log.Logger = config.CreateLogger();
    }

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KB",
        < 1024L * 1024 * 1024 => $"{bytes / 1024.0 / 1024:0.0} MB",
        _ => $"{bytes / 1024.0 / 1024 / 1024:0.00} GB",
    };
}
