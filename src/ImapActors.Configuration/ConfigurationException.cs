namespace ImapActors.Configuration;

/// <summary>The configuration is wrong; <see cref="Problems"/> lists every problem found, one per line of the message.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IReadOnlyList<string> problems)
        : base(Format(problems))
    {
        Problems = problems;
    }

    public ConfigurationException(string problem, Exception inner)
        : base(Format([problem]), inner)
    {
        Problems = [problem];
    }

    /// <summary>Each problem as <c>asset 'phish': key 'max_emails': must be a positive integer, got 0</c>.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(IReadOnlyList<string> problems) =>
        $"The configuration has {problems.Count} problem{(problems.Count == 1 ? "" : "s")}:{Environment.NewLine}"
        + string.Join(Environment.NewLine, problems.Select(p => "  " + p));
}
