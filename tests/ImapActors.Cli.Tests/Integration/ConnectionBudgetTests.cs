using System.Text.RegularExpressions;
using ImapActors.Cli.Samples;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>
/// Eight folders of one asset against a Dovecot that allows a user 4 connections from one IP: the folders share the
/// asset's connections and every one is ingested.
/// </summary>
public sealed partial class ConnectionBudgetTests(ITestOutputHelper output) : IDisposable
{
    private const int Folders = 8;
    private const int PerFolder = 60;
    private readonly DovecotInstance _dovecot = TestServices.StartPrivateDovecot("budget", production: true, maxUserIpConnections: 4);

    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    public async Task Eight_folders_share_the_connections_and_are_all_ingested(int maxConnections)
    {
        var user = _dovecot.CreateUser("budget");
        var folders = Enumerable.Range(1, Folders).Select(i => $"Folder{i}").ToArray();
        foreach (var (folder, i) in folders.Select((f, i) => (f, i)))
        {
            var mail = new SampleMail(40 + i);
            _dovecot.LoadMessages(user.Name, folder, Enumerable.Range(0, PerFolder).Select(mail.Make));
        }

        var asset = _dovecot.Asset(user, true, folders) with { MaxConnections = maxConnections, MaxEmails = 20, FirstRunMaxEmails = 20 };
        using var harness = new EngineHarness(Store.Sqlite, [asset], fetchBatchSize: 10);
        var statuses = await harness.RunOnceAsync(TimeSpan.FromMinutes(4));

        var lines = _dovecot.LogLinesOf(user.Name);
        var (peak, refusals) = Connections(lines);
        output.WriteLine($"max_connections {maxConnections}: peak {peak} connections, {refusals} refused as too many; " +
                         string.Join(", ", statuses.Select(s => $"{s.Mailbox.Folder}: {s.Created}")));
        Assert.All(statuses, s => Assert.True(s.CaughtUp, $"{s.Mailbox}: {s.LastError}"));
        Assert.Equal(Folders * PerFolder, (await harness.ContainersAsync()).Count);
        if (maxConnections <= 4)
        {
            Assert.InRange(peak, 1, maxConnections);
            Assert.Equal(0, refusals);
        }
        else
        {
            // More than the server allows (which lets a burst of simultaneous logins through before it counts them): its
            // refusals lower the budget, a few times at most, not in a loop.
            Assert.InRange(peak, 1, maxConnections);
            Assert.InRange(refusals, 1, maxConnections - 4 + 1);
        }
    }

    /// <summary>The most sessions of the user open at once, from the server's log, and its "too many connections" refusals.</summary>
    private static (int Peak, int Refusals) Connections(IReadOnlyList<string> lines)
    {
        var open = new HashSet<string>();
        var peak = 0;
        var refusals = 0;
        foreach (var line in lines)
        {
            if (line.Contains("Maximum number of connections", StringComparison.Ordinal))
            {
                refusals++;
            }

            if (LoginLine().Match(line) is { Success: true } login)
            {
                open.Add(login.Groups[1].Value);
                peak = Math.Max(peak, open.Count);
            }
            else if (SessionEnd().Match(line) is { Success: true } end)
            {
                open.Remove(end.Groups[1].Value);
            }
        }

        return (peak, refusals);
    }

    [GeneratedRegex(@"imap-login: Info: Login: .*session=<([^>]+)>")]
    private static partial Regex LoginLine();

    [GeneratedRegex(@"imap\([^)]*\)<\d+><([^>]+)>: Info: Disconnected")]
    private static partial Regex SessionEnd();

    public void Dispose() => _dovecot.Stop();
}
