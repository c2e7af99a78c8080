using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Hosting;
using ImapActors.Actors.Ingestion;
using ImapActors.Actors.Mailboxes;
using ImapActors.Cli.Samples;
using ImapActors.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>
/// A folder with a hole in its UIDs (mail expunged before the first poll), polled by the whole engine against a Dovecot
/// of its own that logs the raw protocol, so the test reads what the engine really asked the server.
/// </summary>
public sealed partial class HoleIntegrationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task After_catching_up_over_an_expunged_range_ten_polls_search_and_fetch_nothing_below_the_settled_uid()
    {
        var dovecot = TestServices.StartPrivateDovecot("holes", rawLog: true);
        try
        {
            var user = dovecot.CreateUser("holes");
            var generator = new SampleMail(13);
            dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(0, 2000).Select(n => generator.Make(n)));
            dovecot.Doveadm("expunge", "-u", user.Name, "mailbox", "INBOX", "uid", "500:1400");
            using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user) with { FirstRunMaxEmails = 300, MaxEmails = 300 }]);

            // Catch up, and read the cursor's mark before the engine stops.
            uint settled;
            await using (var engine = await harness.StartAsync(once: true))
            {
                using var timeout = new CancellationTokenSource(Generous);
                var status = Assert.Single(await engine.WhenCaughtUpAsync(timeout.Token));
                Assert.True(status.CaughtUp, status.LastError);
                var supervisor = await engine.Services.GetRequiredService<IRequiredActor<IngestionSupervisor>>().GetAsync();
                var cursor = await supervisor.Ask<MailboxCommands.CursorState>(new MailboxCommands.GetCursor(status.Mailbox), TimeSpan.FromSeconds(10));
                settled = cursor.Cursor.SearchedThrough;
                await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
            }

            Assert.Equal(2000u, settled);
            Assert.Equal(1099, (await harness.ContainersAsync()).Count);

            // The catch-up searched the hole once, in the poll that crossed it; each later poll began above what it settled.
            var catchUp = await ClosedSessionsAsync(dovecot, user.Name);
            Assert.Equal(["1:2000", "301:2000", "1502:2000", "1802:2000"], catchUp.SelectMany(s => s.Sent).Select(SearchSet).OfType<string>());

            // Ten more polls, each by an engine that recovers the cursor from the store; new mail arrives before the sixth.
            for (var poll = 0; poll < 10; poll++)
            {
                if (poll == 5)
                {
                    dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(2000, 5).Select(n => generator.Make(n)));
                }

                var status = Assert.Single(await harness.RunOnceAsync(Generous));
                Assert.True(status.CaughtUp, status.LastError);
            }

            var seen = catchUp.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
            var later = (await ClosedSessionsAsync(dovecot, user.Name)).Where(s => !seen.Contains(s.Name)).SelectMany(s => s.Sent).ToList();
            foreach (var line in later)
            {
                output.WriteLine(line);
            }

            Assert.True(later.Count(IsExamine) >= 10, $"{later.Count(IsExamine)} EXAMINEs logged for ten polls");
            var asked = later.Where(l => SearchSet(l) is not null || FetchSet(l) is not null).ToList();
            Assert.NotEmpty(asked);
            Assert.All(asked, line => Assert.All(Uids(SearchSet(line) ?? FetchSet(line)!), uid => Assert.True(uid > settled, line)));
            Assert.Equal(["2001:2005"], later.Select(SearchSet).OfType<string>());

            var containers = await harness.ContainersAsync();
            Assert.Equal(1104, containers.Count);
            Assert.Equal(Enumerable.Range(2001, 5).Select(u => (uint)u), containers.Select(c => c.Uid).Where(u => u > 2000).Order());
        }
        finally
        {
            dovecot.Stop();
        }
    }

    /// <summary>The user's sessions once each has logged out (Dovecot writes a session's log as it goes).</summary>
    private static async Task<IReadOnlyList<RawLogSession>> ClosedSessionsAsync(DovecotInstance dovecot, string user)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (true)
        {
            var sessions = dovecot.RawLog(user);
            if (sessions.All(s => s.Sent.Count > 0 && IsLogout(s.Sent[^1])) || DateTimeOffset.UtcNow > deadline)
            {
                Assert.NotEmpty(sessions);
                return sessions;
            }

            await Task.Delay(100);
        }
    }

    private static bool IsExamine(string line) => CommandRegex().Match(line) is { Success: true } m && m.Groups[1].Value == "EXAMINE";

    private static bool IsLogout(string line) => CommandRegex().Match(line) is { Success: true } m && m.Groups[1].Value == "LOGOUT";

    /// <summary>The UID set of a <c>UID SEARCH … UID set</c> command, else null.</summary>
    private static string? SearchSet(string line) => SearchRegex().Match(line) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The UID set of a <c>UID FETCH set (…)</c> command, else null.</summary>
    private static string? FetchSet(string line) => FetchRegex().Match(line) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>Every UID a set names (<c>*</c> as the highest UID there can be).</summary>
    private static IEnumerable<uint> Uids(string set) =>
        set.Split(',').SelectMany(part => part.Split(':')).Select(n => n == "*" ? uint.MaxValue : uint.Parse(n, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^\S+ (?:UID )?([A-Z]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex CommandRegex();

    [GeneratedRegex(@"^\S+ UID SEARCH\b.*?\bUID ([0-9:,*]+)", RegexOptions.IgnoreCase)]
    private static partial Regex SearchRegex();

    [GeneratedRegex(@"^\S+ UID FETCH ([0-9:,*]+) ", RegexOptions.IgnoreCase)]
    private static partial Regex FetchRegex();
}
