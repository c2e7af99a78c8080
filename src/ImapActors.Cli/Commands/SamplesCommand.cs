using System.CommandLine;
using ImapActors.Cli.Samples;

namespace ImapActors.Cli.Commands;

/// <summary><c>imapactors samples write DIR</c>: sample phishing reports as .eml files (quickstart, tests, benchmarks).</summary>
internal static class SamplesCommand
{
    public static Command Create()
    {
        var dir = new Argument<DirectoryInfo>("DIR") { Description = "Folder to write the .eml files into (created when missing)." };
        var count = new Option<int>("--count") { Description = "How many emails.", DefaultValueFactory = _ => 10 };
        var size = new Option<int>("--size") { Description = "Pad each email to at least this many bytes.", DefaultValueFactory = _ => 0 };
        var pdf = new Option<int>("--pdf-bytes") { Description = "Attach a PDF of this size to every email.", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generator (same seed, same emails).", DefaultValueFactory = _ => 1 };
        var start = new Option<int>("--start") { Description = "Number of the first email (to extend an earlier set).", DefaultValueFactory = _ => 0 };
        var write = new Command("write", "Write sample phishing-report emails as .eml files.") { dir, count, size, pdf, seed, start };
        write.Validators.Add(r =>
        {
            if (r.GetValue(count) < 0 || r.GetValue(size) < 0 || r.GetValue(pdf) < 0)
            {
                r.AddError("--count, --size and --pdf-bytes must not be negative.");
            }
        });
        write.SetAction(r =>
        {
            var target = r.GetValue(dir)!;
            target.Create();
            var generator = new SampleMail(r.GetValue(seed));
            var first = r.GetValue(start);
            var pdfBytes = r.GetValue(pdf);
            for (var n = first; n < first + r.GetValue(count); n++)
            {
                var bytes = pdfBytes > 0
                    ? generator.Make(SampleMail.Kind.WithAttachment, n, r.GetValue(size), pdfBytes)
                    : generator.Make(n, r.GetValue(size));
                File.WriteAllBytes(Path.Combine(target.FullName, $"sample-{n:D6}.eml"), bytes);
            }

            Console.WriteLine($"Wrote {r.GetValue(count)} emails to {target.FullName}");
            return 0;
        });
        return new Command("samples", "Sample phishing-report emails.") { write };
    }
}
