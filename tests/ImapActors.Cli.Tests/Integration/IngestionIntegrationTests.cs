using System.Collections.Concurrent;
using System.Text;
using ImapActors.Host;
using ImapActors.Host.Actions;
using ImapActors.Actors.Pipeline;
using ImapActors.Cli.Samples;
using ImapActors.Domain;
using ImapActors.Extraction;
using ImapActors.Mail;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Integration;

/// <summary>The whole engine against the real Dovecot over TLS, into SQLite or PostgreSQL.</summary>
public sealed class IngestionIntegrationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);

    private static IEnumerable<byte[]> Samples(int seed, int count, int start = 0)
    {
        var generator = new SampleMail(seed);
        return Enumerable.Range(start, count).Select(n => generator.Make(n));
    }

    [Fact]
    public async Task Three_assets_with_two_folders_each_make_exactly_one_container_per_email()
    {
        var dovecot = TestServices.Dovecot;
        var assets = new List<AssetSettings>();
        var expected = new Dictionary<(string Asset, string Folder), int>();
        var total = 0;
        for (var a = 0; a < 3; a++)
        {
            var user = dovecot.CreateUser("three");
            foreach (var folder in new[] { "INBOX", "Reported" })
            {
                var count = 1000 / 6 + (a == 0 && folder == "INBOX" ? 1000 % 6 : 0);
                dovecot.LoadMessages(user.Name, folder, Samples(a * 10 + folder.Length, count));
                total += count;
                expected[(dovecot.Asset(user).Name.Value, folder)] = count;
            }

            assets.Add(dovecot.Asset(user, true, "INBOX", "Reported"));
        }

        Assert.Equal(1000, total);
        using var harness = new EngineHarness(Store.Sqlite, assets);
        var statuses = await harness.RunOnceAsync(Generous);
        foreach (var s in statuses)
        {
            output.WriteLine($"{s.Mailbox}: fetched {s.Fetched}, created {s.Created}");
        }

        var containers = await harness.ContainersAsync();
        Assert.Equal(1000, containers.Count);
        Assert.All(statuses, s => Assert.True(s.CaughtUp && !s.GaveUp));
        foreach (var ((asset, folder), count) in expected)
        {
            var mine = containers.Where(c => c.Asset == asset && c.Folder == folder).ToList();
            Assert.Equal(count, mine.Count);
            Assert.Equal(Enumerable.Range(1, count).Select(i => (uint)i), mine.Select(c => c.Uid).Order());
            Assert.All(mine, c => Assert.Equal($"{EngineHarness.FolderHash(folder)} : {c.Uid}", c.SourceDataIdentifier));
        }

        // Names are the decoded subjects the generator wrote.
        Assert.Contains(containers, c => c.Name.StartsWith("Action required: verify your account #", StringComparison.Ordinal));
        Assert.Contains(containers, c => c.Name.StartsWith("FW: Action required", StringComparison.Ordinal));
        Assert.Equal(containers.Count, containers.Select(c => c.MessageId).Distinct().Count());
    }

    [Theory]
    [InlineData(Store.Sqlite)]
    [InlineData(Store.PostgreSql)]
    public async Task Uidvalidity_change_after_half_is_ingested_ends_with_exactly_one_container_per_email(Store store)
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("uidv");
        dovecot.LoadMessages(user.Name, "INBOX", Samples(5, 500));
        using var harness = new EngineHarness(store, [dovecot.Asset(user)]);
        await harness.RunOnceAsync(Generous);
        Assert.Equal(500, (await harness.ContainersAsync()).Count);

        dovecot.LoadMessages(user.Name, "INBOX", Samples(5, 500, start: 500));
        dovecot.SetUidValidity(user.Name, "INBOX", 987654);
        var status = Assert.Single(await harness.RunOnceAsync(Generous));
        output.WriteLine($"after the change: created {status.Created}, reconciled {status.Reconciled}, already {status.AlreadyIngested}");

        var containers = await harness.ContainersAsync();
        Assert.Equal(1000, containers.Count);
        Assert.Equal(1000, containers.Select(c => c.MessageId).Distinct().Count());
        Assert.Equal(500, status.Reconciled);
        Assert.Equal(500, status.Created);
    }

    [Fact]
    public async Task A_migration_that_added_a_header_to_every_message_and_changed_uidvalidity_duplicates_nothing()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("migrated");
        var originals = Samples(7, 200).ToList();
        dovecot.LoadMessages(user.Name, "INBOX", originals);
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        await harness.RunOnceAsync(Generous);
        Assert.Equal(200, (await harness.ContainersAsync()).Count);

        // The new server stamps every message, so no raw byte hash matches any more; the folder is renumbered.
        dovecot.Doveadm("expunge", "-u", user.Name, "mailbox", "INBOX", "all");
        dovecot.LoadMessages(user.Name, "INBOX", originals.Select(m => Encoding.ASCII.GetBytes("X-Migrated-By: imapsync\r\n").Concat(m).ToArray()));
        dovecot.SetUidValidity(user.Name, "INBOX", 424242);
        var status = Assert.Single(await harness.RunOnceAsync(Generous));
        output.WriteLine($"after the migration: created {status.Created}, reconciled {status.Reconciled}, already {status.AlreadyIngested}");

        Assert.Equal((0L, 200L), (status.Created, status.Reconciled));
        Assert.Equal(200, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task A_latest_first_folder_keeps_its_first_run_floor_across_a_uidvalidity_change()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("floor");
        var asset = dovecot.Asset(user) with { IngestManner = IngestManner.LatestFirst, FirstRunMaxEmails = 10 };
        var received = new DateTimeOffset(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);
        var mail = new SampleMail(8);
        for (var i = 0; i < 30; i++)
        {
            await ImapAppender.AppendAsync(asset, "INBOX", mail.Make(i), CancellationToken.None, received.AddHours(i));
        }

        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        await harness.RunOnceAsync(Generous);
        Assert.Equal(Enumerable.Range(21, 10).Select(i => (uint)i), (await harness.ContainersAsync()).Select(c => c.Uid).Order());

        // Renumbered: the 20 emails the first run left out are older than its floor and stay out.
        dovecot.SetUidValidity(user.Name, "INBOX", 515151);
        var status = Assert.Single(await harness.RunOnceAsync(Generous));
        output.WriteLine($"after the change: created {status.Created}, reconciled {status.Reconciled}");
        Assert.Equal((0L, 10L), (status.Created, status.Reconciled));
        Assert.Equal(10, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task Dovecot_killed_mid_fetch_is_recovered_from_and_every_email_lands_once()
    {
        var dovecot = TestServices.StartPrivateDovecot("kill-" + Guid.NewGuid().ToString("N")[..6]);
        try
        {
            var user = dovecot.CreateUser("kill");
            dovecot.LoadMessages(user.Name, "INBOX", Samples(9, 1500));
            using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)], fetchBatchSize: 25);
            await using var engine = await harness.StartAsync(once: true);
            var caughtUp = engine.WhenCaughtUpAsync(new CancellationTokenSource(Generous).Token);

            // Kill the server while the engine is between its first and last batch.
            while ((await engine.GetStatusAsync()).Sum(s => s.Fetched) < 200)
            {
                Assert.False(caughtUp.IsCompleted, "caught up before the server could be killed");
                await Task.Delay(20);
            }

            dovecot.KillAndRestart();
            output.WriteLine($"killed after {(await engine.GetStatusAsync()).Sum(s => s.Fetched)} fetched");
            var status = Assert.Single(await caughtUp);
            output.WriteLine($"fetched {status.Fetched}, created {status.Created}, already {status.AlreadyIngested}, last error {status.LastError}");
            Assert.False(status.GaveUp);

            var containers = await harness.ContainersAsync();
            Assert.Equal(1500, containers.Count);
            Assert.Equal(1500, containers.Select(c => c.Uid).Distinct().Count());
        }
        finally
        {
            dovecot.Stop();
        }
    }

    [Theory]
    [InlineData(Store.Sqlite, VaultStore.File)]
    [InlineData(Store.PostgreSql, VaultStore.Database)]
    public async Task Poison_email_is_quarantined_the_rest_ingested_and_a_retry_after_the_fix_ingests_it_once(Store store, VaultStore vault)
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("poison");
        var generator = new SampleMail(11);
        var messages = Enumerable.Range(0, 30).Select(n => generator.Make(n)).ToList();
        messages.Insert(12, Encoding.ASCII.GetBytes("From: x@example.org\r\nSubject: POISON-PILL\r\nMessage-ID: <poison@example.org>\r\n\r\nbad\r\n"));
        dovecot.LoadMessages(user.Name, "INBOX", messages);
        using var harness = new EngineHarness(store, [dovecot.Asset(user)], vault: vault);
        var faulty = new FaultyProcessing();

        var status = Assert.Single(await harness.RunOnceAsync(Generous, vault => faulty.Wrap(vault)));
        Assert.Equal(1, status.Quarantined);
        var containers = await harness.ContainersAsync();
        Assert.Equal(30, containers.Count);
        Assert.DoesNotContain(containers, c => c.Uid == 13);

        await using var engine = await harness.StartAsync(once: true, vault => faulty.Wrap(vault));
        var q = Assert.Single(await engine.Store.ListQuarantineAsync(false, CancellationToken.None));
        Assert.Equal((13u, "parse"), (q.Source.Uid, q.Stage));
        using (var raw = engine.Vault.OpenRead(q.RawEmail!)!)
        using (var reader = new StreamReader(raw, Encoding.ASCII))
        {
            Assert.Contains("POISON-PILL", reader.ReadToEnd(), StringComparison.Ordinal);
        }

        Assert.Equal(vault == VaultStore.File, Directory.Exists(Path.Combine(harness.Settings.VaultPath, q.RawEmail!.Value[..2])));
        Assert.False(string.IsNullOrEmpty(q.ParserVersion));
        await engine.WhenCaughtUpAsync(new CancellationTokenSource(Generous).Token);
        Assert.Equal(3, faulty.Attempts["POISON-PILL"]);

        // The cursor is past the poison email: the second run did not try it again.
        Assert.Equal(30, (await harness.ContainersAsync()).Count);

        faulty.Fixed = true;
        var first = await engine.QuarantineRetry.RetryAsync(q, CancellationToken.None);
        Assert.True(first.Succeeded, first.Error);
        Assert.Equal(Storage.CommitOutcome.Created, first.Result!.Outcome);
        var again = await engine.QuarantineRetry.RetryAsync(q, CancellationToken.None);
        Assert.Equal(Storage.CommitOutcome.AlreadyIngested, again.Result!.Outcome);
        Assert.Equal(31, (await harness.ContainersAsync()).Count);
        Assert.Empty(await engine.Store.ListQuarantineAsync(false, CancellationToken.None));
    }

    [Fact]
    public async Task Mail_appended_while_polling_is_ingested_within_the_poll_interval()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("live");
        dovecot.LoadMessages(user.Name, "INBOX", Samples(3, 5));
        var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromSeconds(3) };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        await using var engine = await harness.StartAsync(once: false);
        await WaitForAsync(async () => (await engine.GetStatusAsync()).Sum(s => s.Created) == 5, TimeSpan.FromSeconds(60));

        await ImapAppender.AppendAsync(asset, "INBOX", new SampleMail(99).Make(0), CancellationToken.None);

        var appendedAt = DateTimeOffset.UtcNow;
        await WaitForAsync(async () => (await engine.GetStatusAsync()).Sum(s => s.Created) == 6, asset.PollInterval + TimeSpan.FromSeconds(5));
        output.WriteLine($"ingested {(DateTimeOffset.UtcNow - appendedAt).TotalSeconds:0.0} s after the append");
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(6, (await harness.ContainersAsync()).Count);
    }

    [Fact]
    public async Task A_busy_folder_is_ingested_as_fast_as_the_engine_goes_not_max_emails_per_poll_interval()
    {
        // 50 polls of 100: with a poll every 60 s that was 50 minutes.
        const int total = 5000;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("busy");
        dovecot.LoadMessages(user.Name, "INBOX", Samples(5, total));
        var asset = dovecot.Asset(user) with { PollInterval = TimeSpan.FromSeconds(60), MaxEmails = 100, FirstRunMaxEmails = 100 };
        using var harness = new EngineHarness(Store.Sqlite, [asset]);
        var started = DateTimeOffset.UtcNow;
        await using var engine = await harness.StartAsync(once: false);
        await WaitForAsync(async () => (await engine.GetStatusAsync()).Sum(s => s.Created) == total, TimeSpan.FromMinutes(3));
        output.WriteLine($"{total} emails in {(DateTimeOffset.UtcNow - started).TotalSeconds:0.0} s at max_emails = 100, poll_interval = 60 s");
        await engine.StopGracefullyAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(total, (await harness.ContainersAsync()).Count);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"not true within {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>The real processing, failing on emails whose raw bytes hold POISON until fixed.</summary>
    private sealed class FaultyProcessing
    {
        public ConcurrentDictionary<string, int> Attempts { get; } = new();

        public bool Fixed { get; set; }

        public IEmailProcessing Wrap(IVault vault) => new Wrapper(this, new DefaultEmailProcessing(vault));

        private sealed class Wrapper(FaultyProcessing owner, IEmailProcessing inner) : IEmailProcessing
        {
            public IParsedEmail Parse(RawEmail raw, EmailSource source, ExtractionLimits limits)
            {
                if (Encoding.ASCII.GetString(raw.ToArray()).Contains("POISON-PILL", StringComparison.Ordinal))
                {
                    owner.Attempts.AddOrUpdate("POISON-PILL", 1, (_, n) => n + 1);
                    if (!owner.Fixed)
                    {
                        throw new FormatException("parser bug (test)");
                    }
                }

                return inner.Parse(raw, source, limits);
            }

            public ProcessedEmail Extract(IParsedEmail parsed, ExtractionSettings settings, string label) => inner.Extract(parsed, settings, label);
        }
    }
}
