namespace ImapActors.Testing;

/// <summary>Finds the repository root and the optional <c>../shared</c> folder beside it.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ImapActors.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("ImapActors.sln not found above " + AppContext.BaseDirectory);
    });

    /// <summary>The folder that holds ImapActors.sln.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>The shared folder (reference, corpus) beside the repository, or null in a clone without it.</summary>
    public static string? Shared
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("IMAPACTORS_SHARED");
            var candidate = !string.IsNullOrEmpty(env) ? env : Path.GetFullPath(Path.Combine(Root, "..", "shared"));
            return Directory.Exists(candidate) ? candidate : null;
        }
    }

    /// <summary>The corpus folder, or null when the shared folder is absent.</summary>
    public static string? Corpus => Shared is { } s && Directory.Exists(Path.Combine(s, "corpus")) ? Path.Combine(s, "corpus") : null;

    /// <summary>The corpus folder, for a test marked <see cref="CorpusFactAttribute"/> (which is skipped without it).</summary>
    public static string RequiredCorpus => Corpus ?? throw new InvalidOperationException("the shared corpus folder is absent");

    /// <summary>The corpus-expected folder, for a test marked <c>[CorpusFact(withExpected: true)]</c>.</summary>
    public static string RequiredCorpusExpected => CorpusExpected ?? throw new InvalidOperationException("the shared corpus-expected folder is absent");

    public static string? CorpusExpected => Shared is { } s && Directory.Exists(Path.Combine(s, "corpus-expected")) ? Path.Combine(s, "corpus-expected") : null;
}
