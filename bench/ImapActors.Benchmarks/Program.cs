using System.Diagnostics;
using ImapActors.Domain;
using ImapActors.Extraction;
using MimeKit;

// Throughput benchmarks (not tests). "parse": MimeKit's parse alone against Parse+Extract, over the corpus in memory.
// "digest": every output of every corpus message (artifacts in order, CEF key order, SDIs, vault hashes, issues) under
// several settings, one line per message, to check that a change to the code leaves the results identical.
// "ceiling": the raw IMAP fetch rate that bench/e2e.sh compares the engine's end-to-end rate with (see Ceiling.cs).
if (args.Length == 0 || args[0] is not ("parse" or "digest" or "ceiling"))
{
    Console.Error.WriteLine("usage: ImapActors.Benchmarks parse [CORPUS_DIR] [ROUNDS]");
    Console.Error.WriteLine("       ImapActors.Benchmarks digest [CORPUS_DIR] > FILE");
    Console.Error.WriteLine("       ImapActors.Benchmarks ceiling HOST PORT CA_FILE BATCH MAILBOX_FILE");
    return 2;
}

if (args[0] == "ceiling")
{
    return await Ceiling.RunAsync(args);
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

// Where the time goes: the same rounds with parts of the work switched off.
var noIndicators = ExtractionSettings.Default with { ExtractUrls = false, ExtractDomains = false, ExtractIps = false, ExtractHashes = false };
var runs = new (string Name, Func<long> Body)[]
{
    ("MimeKit parse only", MimeKitOnly),
    ("Parse+Extract (ours)", () => Run(ExtractionSettings.Default)),
    ("no indicator scanning", () => Run(noIndicators)),
    ("no attachments", () => Run(ExtractionSettings.Default with { ExtractAttachments = false })),
    ("walk and headers only", () => Run(noIndicators with { ExtractAttachments = false })),
};

// Warm-up (JIT, tiered compilation), then rounds in which every run takes its turn, so all see the same machine state.
foreach (var run in runs)
{
    run.Body();
    run.Body();
}

var seconds = runs.Select(_ => new List<double>()).ToArray();
var cpuSeconds = runs.Select(_ => new List<double>()).ToArray();
var allocated = new long[runs.Length];
using var self = Process.GetCurrentProcess();
for (var r = 0; r < rounds; r++)
{
    for (var k = 0; k < runs.Length; k++)
    {
        // Each run starts from a collected heap, so it does not pay for the garbage the previous run left.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetAllocatedBytesForCurrentThread();
        self.Refresh();
        var cpuBefore = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        runs[k].Body();
        seconds[k].Add(clock.Elapsed.TotalSeconds);
        self.Refresh();
        cpuSeconds[k].Add((self.TotalProcessorTime - cpuBefore).TotalSeconds);
        allocated[k] += GC.GetAllocatedBytesForCurrentThread() - before;
    }

    Console.WriteLine($"round {r + 1}: MimeKit parse {seconds[0][^1] * 1000:F0} ms, Parse+Extract {seconds[1][^1] * 1000:F0} ms, ratio {seconds[0][^1] / seconds[1][^1]:P0}");
}

double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

for (var k = 0; k < runs.Length; k++)
{
    var median = Median(seconds[k]);
    var best = seconds[k].Min();
    var perMessage = allocated[k] / (double)rounds / messages.Length;
    Console.WriteLine($"{runs[k].Name,-22} median {messages.Length / median,8:F0} msg/s {totalBytes / 1048576.0 / median,7:F1} MiB/s   best {messages.Length / best,8:F0} msg/s   " +
        $"CPU time {Median(cpuSeconds[k]) * 1000,6:F0} ms/round   allocated {perMessage / 1024,7:F0} KiB/msg");
}

var ratios = seconds[0].Zip(seconds[1], (m, o) => m / o).ToList();
Console.WriteLine($"ratio (ours / MimeKit): {Median(seconds[0]) / Median(seconds[1]):P0} of medians, {Median(ratios):P0} median of per-round ratios, " +
    $"{Median(cpuSeconds[0]) / Median(cpuSeconds[1]):P0} by process CPU time (GC threads included)");
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
