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

    /// <summary>Loads the configuration, or prints why it is refused and returns null.</summary>
    public static EngineSettings? LoadSettings(FileInfo file)
    {
        if (!file.Exists)
        {
            Console.Error.WriteLine($"Configuration file '{file.FullName}' does not exist.");
            return null;
        }

        try
        {
            return EngineConfig.Load(file.FullName);
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

    /// <summary>A cancellation token that fires on SIGINT or SIGTERM (the first signal only asks; a second one is the OS default).</summary>
    public static CancellationTokenSource OnStopSignal(out IDisposable registrations)
    {
        var cts = new CancellationTokenSource();
        var handled = 0;
        void Handler(System.Runtime.InteropServices.PosixSignalContext context)
        {
            if (Interlocked.Exchange(ref handled, 1) == 0)
            {
                context.Cancel = true;
                try
                {
                    cts.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The runtime calls every handler registered when the signal arrived, one after the other; another
                    // handler (System.CommandLine's own) may already have let the command finish and dispose the source.
                }
            }
        }

        var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Handler);
        var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Handler);
        registrations = new Registrations(sigint, sigterm);
        return cts;
    }

    private sealed class Registrations(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
