using System.Diagnostics;
using ImapActors.Domain;
using ImapActors.Extraction;
using MimeKit;

// Throughput benchmarks (not tests). "parse": MimeKit's parse alone against Parse+Extract, over the corpus in memory.
// "digest": every output of every corpus message (artifacts in order, CEF key order, SDIs, vault hashes, issues) under
// several settings, one line per message, to check that a change to the code leaves the results identical.
if (args.Length == 0 || args[0] is not ("parse" or "digest"))
{
    Console.Error.WriteLine("usage: ImapActors.Benchmarks parse [CORPUS_DIR] [ROUNDS]");
    Console.Error.WriteLine("       ImapActors.Benchmarks digest [CORPUS_DIR] > FILE");
    return 2;
}

if (args[0] == "digest")
{
    return Digest.Write(args.Length > 1 ? args[1] : FindCorpus(), Console.Out);
}

var corpus = args.Length > 1 ? args[1] : FindCorpus();
var rounds = args.Length > 2 ? int.Parse(args[2]) : 9;
var messages = Directory.GetFiles(corpus, "*.eml", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
var totalBytes = messages.Sum(m => (long)m.Length);
Console.WriteLine($"corpus: {messages.Length} messages, {totalBytes / 1048576.0:F1} MiB, {rounds} rounds each, one thread");

var processor = new EmailProcessor(new HashOnlyVault());
var source = new EmailSource(new AssetName("bench"), new FolderName("inbox"), 1, 1, null);

long MimeKitOnly()
{
    long parts = 0;
    foreach (var bytes in messages)
    {
        try
        {
            using var message = MimeMessage.Load(new MemoryStream(bytes, writable: false));
            parts += message.BodyParts.Count();
        }
        catch (FormatException)
        {
            // A message MimeKit rejects costs what it cost.
        }
    }

    return parts;
}

long Ours() => Run(ExtractionSettings.Default);

long Run(ExtractionSettings settings)
{
    long artifacts = 0;
    foreach (var bytes in messages)
    {
        using var raw = RawEmail.FromBytes(bytes);
        artifacts += processor.Process(raw, source, settings, "bench").Artifacts.Count;
    }

    return artifacts;
}

// Warm-up (JIT, tiered compilation), then alternating rounds so both see the same machine state.
MimeKitOnly();
Ours();
var mimeKit = new List<double>();
var ours = new List<double>();
for (var r = 0; r < rounds; r++)
{
    var clock = Stopwatch.StartNew();
    MimeKitOnly();
    mimeKit.Add(clock.Elapsed.TotalSeconds);
    clock.Restart();
    Ours();
    ours.Add(clock.Elapsed.TotalSeconds);
    Console.WriteLine($"round {r + 1}: MimeKit parse {mimeKit[^1] * 1000:F0} ms, Parse+Extract {ours[^1] * 1000:F0} ms");
}

void Report(string name, List<double> seconds)
{
    var best = seconds.Min();
    var median = seconds.Order().ElementAt(seconds.Count / 2);
    Console.WriteLine($"{name,-22} median {messages.Length / median,8:F0} msg/s {totalBytes / 1048576.0 / median,7:F1} MiB/s   best {messages.Length / best,8:F0} msg/s {totalBytes / 1048576.0 / best,7:F1} MiB/s");
}

Report("MimeKit parse only", mimeKit);
Report("Parse+Extract (ours)", ours);
// Where the time goes: the same run with parts of the work switched off.
var noIndicators = ExtractionSettings.Default with { ExtractUrls = false, ExtractDomains = false, ExtractIps = false, ExtractHashes = false };
var variants = new (string Name, ExtractionSettings Settings)[]
{
    ("no indicator scanning", noIndicators),
    ("no attachments", ExtractionSettings.Default with { ExtractAttachments = false }),
    ("walk and headers only", noIndicators with { ExtractAttachments = false }),
};
foreach (var (name, settings) in variants)
{
    Run(settings);
    var times = new List<double>();
    for (var r = 0; r < rounds; r++)
    {
        var clock = Stopwatch.StartNew();
        Run(settings);
        times.Add(clock.Elapsed.TotalSeconds);
    }

    Report(name, times);
}

var ratio = mimeKit.Order().ElementAt(rounds / 2) / ours.Order().ElementAt(rounds / 2);
Console.WriteLine($"ratio (ours / MimeKit, median): {ratio:P0}");
return 0;

static string FindCorpus()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ImapActors.sln")))
    {
        dir = dir.Parent;
    }

    var corpus = Path.GetFullPath(Path.Combine(dir?.FullName ?? ".", "..", "shared", "corpus"));
    return Directory.Exists(corpus) ? corpus : throw new DirectoryNotFoundException("Pass the corpus folder: " + corpus + " does not exist.");
}
