using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ImapActors.Cli.Tests.Http;
using ImapActors.Cli.Tests.Integration;

namespace ImapActors.Cli.Tests.Delivery;

/// <summary>One <c>imapactors run</c> process of a delivery test, with its log and its HTTP API (for /metrics).</summary>
internal sealed class DeliveryProcess : IDisposable
{
    private DeliveryProcess(Process process, ConcurrentQueue<string> log, Uri address)
    {
        Process = process;
        Log = log;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(1) };
    }

    public Process Process { get; }

    public ConcurrentQueue<string> Log { get; }

    public HttpClient Http { get; }

    /// <summary>The lines to append to a test's configuration: the HTTP API on a free port, and the asset's destinations.</summary>
    public static string Config(string asset, string destinations, string assetKeys) => $$"""

        imapactors.http { enabled = true, port = 0 }
        imapactors.destinations { {{destinations}} }
        imapactors.assets."{{asset}}" { {{assetKeys}} }
        """;

    public static async Task<DeliveryProcess> StartAsync(string config, IReadOnlyDictionary<string, string> env)
    {
        var log = new ConcurrentQueue<string>();
        var process = CliProcess.Start(env, "run", "--config", config);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return new DeliveryProcess(process, log, await HttpSecretsTests.WaitForAddressAsync(log, process));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    /// <summary>The value of one sample of /metrics (NaN when absent).</summary>
    public async Task<double> MetricAsync(string name, params (string Label, string Value)[] labels)
    {
        var samples = PrometheusText.Parse(await Http.GetStringAsync("/metrics"), histogramSlack: 64);
        return samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value))
            .Select(s => s.Value).DefaultIfEmpty(double.NaN).First();
    }

    public void Signal(string signal) =>
        Process.Start("kill", [signal, Process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

    /// <summary>SIGTERM, and the exit code once it stopped (the test fails after 60 s).</summary>
    public int Stop()
    {
        Signal("-TERM");
        if (!Process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("run did not stop within 60 s of SIGTERM");
        }

        Process.WaitForExit();
        return Process.ExitCode;
    }

    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what}: not within {timeout}");
            }

            await Task.Delay(200);
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }
}
