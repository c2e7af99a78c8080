using System.Diagnostics;
using System.Text;
using ImapActors.Host;
using ImapActors.Actors.Ingestion;
using Serilog;

namespace ImapActors.Cli;

/// <summary>
/// Live progress of a run: on a terminal a block of one line per mailbox redrawn every second (fetched, committed,
/// rate); otherwise a structured log event per mailbox every ten seconds.
/// </summary>
internal sealed class ProgressReporter(IngestionEngine engine) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _terminal = !Console.IsOutputRedirected && !Console.IsErrorRedirected;
    private Task _loop = Task.CompletedTask;
    private int _linesDrawn;

    public void Start() => _loop = LoopAsync(_stop.Token);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var interval = _terminal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10);
        var clock = Stopwatch.StartNew();
        var previous = new Dictionary<string, (long Fetched, double At)>();
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(interval, cancellationToken);
            var statuses = await engine.GetStatusAsync();
            var now = clock.Elapsed.TotalSeconds;
            var lines = new List<string>();
            foreach (var s in statuses.OrderBy(s => s.Mailbox.ToString(), StringComparer.Ordinal))
            {
                var key = s.Mailbox.ToString();
                var (lastFetched, lastAt) = previous.GetValueOrDefault(key, (0, 0));
                var rate = now > lastAt ? (s.Fetched - lastFetched) / (now - lastAt) : 0;
                previous[key] = (s.Fetched, now);
                var committed = s.Created + s.AlreadyIngested + s.Reconciled;
                if (_terminal)
                {
                    var state = s.GaveUp ? "gave up" : s.CaughtUp ? "caught up" : s.LastError is not null ? "retrying" : "polling";
                    var retry = !s.GaveUp && s.NextAttempt is { } at ? $"  next attempt {at:HH:mm:ss} UTC" : "";
                    lines.Add($"{key,-40} {state,-9} fetched {s.Fetched,8}  committed {committed,8}  quarantined {s.Quarantined,4}  {rate,7:0} emails/s{retry}");
                }
                else
                {
                    Log.Information("Mailbox {Mailbox} fetched {Fetched}, committed {Committed}, quarantined {Quarantined}, {Rate:0} emails/s",
                        key, s.Fetched, committed, s.Quarantined, rate);
                }
            }

            if (_terminal)
            {
                Draw(lines);
            }
        }
    }

    private void Draw(List<string> lines)
    {
        var text = new StringBuilder();
        if (_linesDrawn > 0)
        {
            text.Append($"\u001b[{_linesDrawn}A");
        }

        foreach (var line in lines)
        {
            text.Append("\u001b[2K").Append(line).Append('\n');
        }

        Console.Error.Write(text.ToString());
        _linesDrawn = lines.Count;
    }

    public void Dispose() => _stop.Dispose();
}
