using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ImapActors.Actors.Engine;

/// <summary>
/// The engine's timings as .NET metrics (System.Diagnostics.Metrics), meter <c>imapactors</c>: how long each stage of
/// an email's path takes. The HTTP API exports them in Prometheus' format; any other listener (dotnet-counters,
/// OpenTelemetry) may read them too. Recording costs a few tens of nanoseconds and nothing without a listener.
/// </summary>
public static class EngineMeter
{
    public const string Name = "imapactors";

    private static readonly Meter Meter = new(Name);

    /// <summary>One UID FETCH of a batch, from the command to the last message received.</summary>
    public static readonly Histogram<double> Fetch = Meter.CreateHistogram<double>("fetch_duration_seconds", "s", "Time to fetch one batch of emails (one UID FETCH)");

    /// <summary>Parsing one email's MIME structure.</summary>
    public static readonly Histogram<double> Parse = Meter.CreateHistogram<double>("parse_duration_seconds", "s", "Time to parse one email");

    /// <summary>Extracting one email's artifacts and storing its raw bytes and attachments in the vault.</summary>
    public static readonly Histogram<double> Extract = Meter.CreateHistogram<double>("extract_duration_seconds", "s", "Time to extract one email's artifacts and vault files");

    /// <summary>One store transaction committing a batch of containers.</summary>
    public static readonly Histogram<double> Commit = Meter.CreateHistogram<double>("commit_duration_seconds", "s", "Time to commit one batch of containers");

    /// <summary>Seconds since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static double Since(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}
