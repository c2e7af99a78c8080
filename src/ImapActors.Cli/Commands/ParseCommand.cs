using System.CommandLine;
using ImapActors.Domain;
using ImapActors.Extraction;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors parse FILE...</c>: turns .eml files into containers and artifacts, printed as JSON lines.</summary>
internal static class ParseCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("FILE") { Arity = ArgumentArity.OneOrMore, Description = "RFC 822 files to parse." };
        var folder = new Option<string>("--folder")
        {
            Description = "Folder name the source data identifier is computed from.",
            DefaultValueFactory = _ => "inbox",
        };
        var uid = new Option<uint>("--uid")
        {
            Description = "UID used for the container name fallback, the SDI and emailId.",
            DefaultValueFactory = _ => 1,
        };
        var stats = new Option<bool>("--stats")
        {
            Description = "At the end, print the CPU time, peak memory and wall time the command took to standard error, as one JSON object.",
        };
        var command = new Command("parse", "Parse .eml files and print one JSON object per file (JSON lines). Needs no configuration; nothing is stored.")
        {
            files,
            folder,
            uid,
            stats,
        };
        command.SetAction(parseResult =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var exit = Run(
                parseResult.GetValue(files) ?? [],
                parseResult.GetValue(folder) ?? "inbox",
                parseResult.GetValue(uid),
                Console.Out,
                Console.Error);
            if (parseResult.GetValue(stats))
            {
                Console.Error.WriteLine(Stats(clock.Elapsed));
            }

            return exit;
        });
        return command;
    }

    /// <summary>
    /// <c>{"cpu_seconds":…,"peak_rss_bytes":…,"wall_seconds":…}</c> for this process: the kernel's high-water mark of
    /// resident memory (VmHWM) on Linux, the peak working set elsewhere.
    /// </summary>
    internal static string Stats(TimeSpan wall)
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        var peak = self.PeakWorkingSet64;
        if (File.Exists("/proc/self/status"))
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal) &&
                    long.TryParse(line["VmHWM:".Length..].Trim().Split(' ')[0], out var kib))
                {
                    peak = kib * 1024;
                }
            }
        }

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(inv,
            $"{{\"cpu_seconds\":{self.TotalProcessorTime.TotalSeconds:0.000},\"peak_rss_bytes\":{peak},\"wall_seconds\":{wall.TotalSeconds:0.000}}}");
    }

    internal static int Run(IReadOnlyList<FileInfo> files, string folder, uint uid, TextWriter output, TextWriter errors)
    {
        if (string.IsNullOrEmpty(folder))
        {
            errors.WriteLine("parse: --folder must not be empty");
            return 2;
        }

        var processor = new EmailProcessor(new HashOnlyVault());
        var source = new EmailSource(new AssetName("cli"), new FolderName(folder), uid, 0, null);
        var failed = 0;
        foreach (var file in files)
        {
            try
            {
                using var raw = RawEmail.FromFile(file.FullName, deleteOnDispose: false);
                var result = processor.Process(raw, source, ExtractionSettings.Default, "cli");
                output.WriteLine(ContainerJson.ToJsonLine(result, file.ToString()));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.WriteLine($"parse: {file}: {e.Message}");
                failed++;
            }
        }

        return failed == 0 ? 0 : 1;
    }
}
