using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Fuzz;
using ImapActors.Testing;

// A seeded mutation fuzzer over the corpus: each input is a seed mutated, processed by the extraction library as the
// engine runs it, and checked against what must hold for any input (see Oracle). Findings are written as .eml files
// with a line in findings.tsv; `--replay FILE...` checks saved findings again. Usage in README.md ("Fuzzing").
Options options;
try
{
    options = Options.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or IndexOutOfRangeException)
{
    Console.Error.WriteLine(e is ArgumentException ? e.Message : $"fuzz: bad arguments: {e.Message}");
    return 2;
}

var processor = new EmailProcessor(new HashOnlyVault());
var source = new EmailSource(new AssetName("fuzz"), new FolderName("inbox"), 1, 1, null);
Directory.CreateDirectory(options.Out);

if (options.Replay.Count > 0)
{
    var failed = 0;
    foreach (var file in options.Replay)
    {
        var input = File.ReadAllBytes(file);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var cpu = Environment.CpuUsage.TotalTime;
        var problems = Oracle.Check(processor, source, input, determinism: false);
        var cost = string.Create(CultureInfo.InvariantCulture,
            $"{input.Length / 1048576.0:0.00} MB, {(Environment.CpuUsage.TotalTime - cpu).TotalSeconds:0.00} s CPU, " +
            $"{(GC.GetAllocatedBytesForCurrentThread() - allocated) / 1048576} MiB allocated");
        problems.AddRange(Oracle.Check(processor, source, input, determinism: true).Where(p => p.Kind == "nondeterministic"));
        Console.WriteLine(problems.Count == 0
            ? $"ok      {file} ({cost})"
            : $"FAILED  {file} ({cost}): {string.Join("; ", problems.Select(p => $"{p.Kind}: {p.Detail}"))}");
        failed += problems.Count == 0 ? 0 : 1;
    }

    return failed == 0 ? 0 : 1;
}

var seeds = Directory.GetFiles(options.Corpus, "*.eml", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal)
    .Select(File.ReadAllBytes).ToList();
if (seeds.Count == 0)
{
    Console.Error.WriteLine($"fuzz: no .eml seeds under {options.Corpus}");
    return 2;
}

Console.WriteLine($"fuzz: {seeds.Count} seeds from {options.Corpus}, seed {options.Seed}, {options.Duration.TotalMinutes:0} min, findings in {options.Out}");
var random = new Random(options.Seed);
var mutator = new Mutator(random, seeds);
var findings = new Dictionary<string, int>(StringComparer.Ordinal);
var known = new HashSet<string>(StringComparer.Ordinal);
var pool = new List<byte[]>();
var shapes = new HashSet<string>(StringComparer.Ordinal);
using var tsv = new StreamWriter(Path.Combine(options.Out, "findings.tsv"), append: true) { AutoFlush = true };
var clock = Stopwatch.StartNew();
var lastReport = TimeSpan.Zero;
long executions = 0;
long bytes = 0;
while (clock.Elapsed < options.Duration)
{
    // Mostly corpus seeds; a quarter of the time an earlier input that did something new (a new set of issues).
    var parent = pool.Count > 0 && random.Next(4) == 0 ? pool[random.Next(pool.Count)] : seeds[random.Next(seeds.Count)];
    var input = mutator.Mutate(parent);
    executions++;
    bytes += input.Length;
    var problems = Oracle.Check(processor, source, input, determinism: executions % 25 == 0, out var shape);
    if (shape is not null && shapes.Add(shape) && input.Length < 1024 * 1024 && pool.Count < 2000)
    {
        pool.Add(input);
    }

    foreach (var problem in problems)
    {
        findings[problem.Kind] = findings.GetValueOrDefault(problem.Kind) + 1;
        var name = $"{problem.Kind}-{Convert.ToHexStringLower(SHA1.HashData(input))[..12]}.eml";
        if (known.Add(problem.Kind + problem.Detail[..Math.Min(60, problem.Detail.Length)]))
        {
            File.WriteAllBytes(Path.Combine(options.Out, name), input);
            tsv.WriteLine(string.Join('\t', DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture), options.Seed, executions, input.Length,
                problem.Kind, name, problem.Detail.ReplaceLineEndings(" ")));
            Console.WriteLine($"finding {problem.Kind}: {name}: {problem.Detail}");
        }
    }

    if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(30))
    {
        lastReport = clock.Elapsed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{clock.Elapsed:hh\\:mm\\:ss} {executions} inputs ({executions / clock.Elapsed.TotalSeconds:0}/s, {bytes / 1048576.0:0} MB), " +
            $"pool {pool.Count}, findings {(findings.Count == 0 ? "none" : string.Join(", ", findings.Select(f => $"{f.Key} {f.Value}")))}"));
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"fuzz: done: {executions} inputs in {clock.Elapsed.TotalMinutes:0.0} min, {bytes / 1048576.0:0} MB, seed {options.Seed}, " +
    $"findings {(findings.Count == 0 ? "none" : string.Join(", ", findings.Select(f => $"{f.Key} {f.Value}")))}"));
return findings.Count == 0 ? 0 : 1;

internal sealed record Options(TimeSpan Duration, int Seed, string Out, string Corpus, IReadOnlyList<string> Replay)
{
    public static Options Parse(string[] args)
    {
        var minutes = 30.0;
        var seed = Environment.TickCount & 0x7FFFFFFF;
        var output = Path.Combine(".state", "fuzz");
        string? corpus = null;
        var replay = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--minutes":
                    minutes = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--seed":
                    seed = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--out":
                    output = args[++i];
                    break;
                case "--corpus":
                    corpus = args[++i];
                    break;
                case "--replay":
                    replay.AddRange(args[(i + 1)..]);
                    i = args.Length;
                    break;
                default:
                    throw new ArgumentException($"fuzz: unknown argument {args[i]} (--minutes N, --seed N, --out DIR, --corpus DIR, --replay FILE...)");
            }
        }

        if (corpus is null && replay.Count == 0)
        {
            corpus = RepoPaths.Corpus ?? throw new ArgumentException(
                "fuzz: no corpus seeds: put the shared folder beside the repository, set IMAPACTORS_SHARED, or pass --corpus DIR");
        }

        return new Options(TimeSpan.FromMinutes(minutes), seed, output, corpus ?? string.Empty, replay);
    }
}

/// <summary>What must hold for any input, whatever it is.</summary>
internal static class Oracle
{
    public sealed record Problem(string Kind, string Detail);

    public static List<Problem> Check(EmailProcessor processor, EmailSource source, byte[] input, bool determinism) =>
        Check(processor, source, input, determinism, out _);

    /// <summary>The problems of one input; <paramref name="shape"/> sums up what it gave (its issue codes), to tell inputs that did something new.</summary>
    public static List<Problem> Check(EmailProcessor processor, EmailSource source, byte[] input, bool determinism, out string? shape)
    {
        var problems = new List<Problem>();
        shape = null;
        // CPU time rather than wall time: the machine is shared, and a slow input is one that costs CPU.
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var cpuBefore = Environment.CpuUsage.TotalTime;
        ProcessedEmail email;
        try
        {
            email = Process(processor, source, input);
        }
        catch (Exception e)
        {
            problems.Add(new Problem("exception", $"{e.GetType().Name}: {e.Message} {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}"));
            return problems;
        }

        var elapsed = Environment.CpuUsage.TotalTime - cpuBefore;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var megabytes = input.Length / 1048576.0;
        if (elapsed.TotalSeconds > Math.Max(2.0, megabytes))
        {
            problems.Add(new Problem("slow", string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.00} s of CPU for {megabytes:0.00} MB")));
        }

        if (allocated > (1L << 30) + 20L * input.Length)
        {
            problems.Add(new Problem("memory", $"{allocated / 1048576} MiB allocated for {input.Length} bytes"));
        }

        var automation = email.Artifacts.Count(a => a.RunAutomation);
        if (automation != (email.Artifacts.Count == 0 ? 0 : 1))
        {
            problems.Add(new Problem("run-automation", $"{automation} of {email.Artifacts.Count} artifacts start playbooks"));
        }

        foreach (var artifact in email.Artifacts)
        {
            var cef = artifact.Cef;
            if (artifact.Name == "Domain Artifact" && cef["destinationDnsDomain"]?.ToString() is { } domain && (domain.Length > 253 || domain.Length == 0))
            {
                problems.Add(new Problem("domain", $"a domain of {domain.Length} characters"));
            }

            if (artifact.Name == "URL Artifact" && cef["requestURL"]?.ToString() is { } url && url.Any(c => c < 0x20 || c == 0x7F))
            {
                problems.Add(new Problem("url-control", $"a URL with a control character: {Escape(url)}"));
            }

            if (artifact.Name == "Vault Artifact" && cef["fileName"]?.ToString() is { } file &&
                file.Any(c => c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u2028' or '\u2029'))
            {
                problems.Add(new Problem("file-name", $"a file name with a bidirectional control: {Escape(file)}"));
            }
        }

        if (determinism)
        {
            var again = Process(processor, source, input);
            if (ContainerJson.ToJsonLine(again, null) != ContainerJson.ToJsonLine(email, null))
            {
                problems.Add(new Problem("nondeterministic", "the same input gave two different results"));
            }
        }

        shape = string.Join(',', email.Issues.Select(i => i.Code).Order(StringComparer.Ordinal)) + "|" + Math.Min(email.Artifacts.Count, 20);
        return problems;
    }

    private static ProcessedEmail Process(EmailProcessor processor, EmailSource source, byte[] input)
    {
        using var raw = RawEmail.FromBytes(input);
        return processor.Process(raw, source, ExtractionSettings.Default, "fuzz");
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.Length > 200 ? s[..200] : s)
        {
            sb.Append(c < 0x20 || c is >= '\u2000' and <= '\u206F' ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return sb.ToString();
    }
}
