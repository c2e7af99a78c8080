using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ImapActors.Domain;
using ImapActors.Storage;

namespace ImapActors.Storage.Tests;

/// <summary>The behaviour every container store must have; one subclass per database runs it.</summary>
public abstract class ContainerStoreContract : IAsyncLifetime
{
    private static readonly AssetName Asset = new("phish");
    private static readonly FolderName Inbox = new("INBOX");

    protected IContainerStore Store { get; private set; } = null!;

    protected StorageSettings Settings { get; private set; } = null!;

    /// <summary>
    /// The <c>quarantine</c> table as stores made before the <c>fetch</c> stage have it (<c>raw_vault_id</c> required),
    /// in this database's types.
    /// </summary>
    protected abstract string LegacyQuarantineTable { get; }

    protected abstract StorageSettings CreateSettings();

    /// <summary>Runs SQL on the store's database directly, to set up what an earlier version left behind.</summary>
    protected abstract Task ExecuteSqlAsync(string sql);

    public async Task InitializeAsync()
    {
        Settings = CreateSettings();
        Store = ContainerStoreFactory.Create(Settings);
        await Store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    [Fact]
    public async Task Initialize_is_safe_to_repeat()
    {
        await Store.InitializeAsync(CancellationToken.None);
        await Store.InitializeAsync(CancellationToken.None);
        Assert.Equal(0, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Commit_creates_one_container_per_email_with_its_artifacts_and_files()
    {
        var batch = new[] { Email(uid: 1, body: "a"), Email(uid: 2, body: "b") };

        var results = await Store.CommitAsync(batch, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(CommitOutcome.Created, r.Outcome));
        Assert.Equal([1u, 2u], results.Select(r => r.Source.Uid));
        Assert.NotEqual(results[0].ContainerId, results[1].ContainerId);
        Assert.Equal(2, await Store.CountContainersAsync(null, CancellationToken.None));
        Assert.Equal(2, await Store.CountContainersAsync("phish", CancellationToken.None));
        Assert.Equal(0, await Store.CountContainersAsync("other", CancellationToken.None));

        var stored = await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal("Subject 1", stored.Summary.Name);
        Assert.Equal("phish", stored.Summary.Asset);
        Assert.Equal("INBOX", stored.Summary.Folder);
        Assert.Equal(7u, stored.Summary.UidValidity);
        Assert.Equal(1u, stored.Summary.Uid);
        Assert.Equal("<1@example.org>", stored.Summary.MessageId);
        Assert.Equal(2, stored.Summary.ArtifactCount);
        Assert.Equal("imap", stored.Label);
        Assert.Equal(batch[0].Email.Container.RawSha256, stored.RawSha256);
        Assert.Equal(batch[0].RawEmail, stored.RawEmail);
        Assert.Equal(["Email Artifact", "URL Artifact"], stored.Artifacts.Select(a => a.Name));
        Assert.Equal(batch[0].Email.VaultFiles, stored.VaultFiles);

        var listed = await Store.ListContainersAsync(null, CancellationToken.None);
        Assert.Equal(results.Select(r => r.ContainerId), listed.Select(c => c.Id));
        Assert.Empty(await Store.ListContainersAsync("other", CancellationToken.None));
    }

    [Fact]
    public async Task Recommitting_a_batch_is_already_ingested_and_changes_nothing()
    {
        var batch = new[] { Email(uid: 1, body: "a"), Email(uid: 2, body: "b") };
        var first = await Store.CommitAsync(batch, CancellationToken.None);
        var before = await Store.ListContainersAsync(null, CancellationToken.None);

        var again = await Store.CommitAsync(batch, CancellationToken.None);

        Assert.All(again, r => Assert.Equal(CommitOutcome.AlreadyIngested, r.Outcome));
        Assert.Equal(first.Select(r => r.ContainerId), again.Select(r => r.ContainerId));
        Assert.Equal(before, await Store.ListContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_key_repeated_inside_one_batch_is_created_once()
    {
        var results = await Store.CommitAsync([Email(uid: 5, body: "a"), Email(uid: 5, body: "a")], CancellationToken.None);

        Assert.Equal([CommitOutcome.Created, CommitOutcome.AlreadyIngested], results.Select(r => r.Outcome));
        Assert.Equal(results[0].ContainerId, results[1].ContainerId);
        Assert.Equal(1, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_of_committed_and_new_uids_creates_only_the_new_ones()
    {
        var old = await Store.CommitAsync(
            [Email(uid: 1, body: "a"), Email(uid: 2, body: "b"), Email(uid: 3, body: "c"), Email(uid: 1000, body: "d")],
            CancellationToken.None);
        var ids = old.ToDictionary(r => r.Source.Uid, r => r.ContainerId);

        // Known and new UIDs interleaved, one far from the others, the same UID in another folder, and UID 3 committed
        // but not in the batch.
        var results = await Store.CommitAsync(
            [
                Email(uid: 2, body: "b"), Email(uid: 4, body: "e"), Email(uid: 1, body: "a"), Email(uid: 700, body: "f"),
                Email(uid: 1000, body: "d"), Email(uid: 2, body: "g", folder: "Reported"), Email(uid: 5, body: "h"),
            ],
            CancellationToken.None);

        Assert.Equal(
            [
                CommitOutcome.AlreadyIngested, CommitOutcome.Created, CommitOutcome.AlreadyIngested, CommitOutcome.Created,
                CommitOutcome.AlreadyIngested, CommitOutcome.Created, CommitOutcome.Created,
            ],
            results.Select(r => r.Outcome));
        Assert.Equal([ids[2], ids[1], ids[1000]], new[] { results[0], results[2], results[4] }.Select(r => r.ContainerId));
        // Known keys are recognised up front, never by inserting a container and losing the key to the earlier commit,
        // which would spend a container id.
        Assert.Equal(Enumerable.Range(1, 4).Select(i => ids.Values.Max() + i),
            new[] { results[1], results[3], results[5], results[6] }.Select(r => r.ContainerId));
        Assert.Equal(8, await Store.CountContainersAsync(null, CancellationToken.None));
        var reported = await Store.GetContainerAsync(results[5].ContainerId, CancellationToken.None);
        Assert.Equal(("Reported", 2u), (reported!.Summary.Folder, reported.Summary.Uid));
        Assert.Equal(new HashSet<uint> { 1, 2, 3, 4, 5, 700, 1000 },
            await Store.CommittedUidsAsync(new MailboxId(Asset, Inbox), 7, 1, uint.MaxValue, CancellationToken.None));
    }

    [Fact]
    public async Task Keys_repeated_inside_one_batch_point_at_the_container_of_their_first_email()
    {
        var results = await Store.CommitAsync(
            [Email(uid: 5, body: "a"), Email(uid: 6, body: "b"), Email(uid: 5, body: "changed"), Email(uid: 6, body: "b")],
            CancellationToken.None);

        Assert.Equal(
            [CommitOutcome.Created, CommitOutcome.Created, CommitOutcome.AlreadyIngested, CommitOutcome.AlreadyIngested],
            results.Select(r => r.Outcome));
        Assert.Equal(results[0].ContainerId, results[2].ContainerId);
        Assert.Equal(results[1].ContainerId, results[3].ContainerId);
        Assert.NotEqual(results[0].ContainerId, results[1].ContainerId);
        Assert.Equal(2, await Store.CountContainersAsync(null, CancellationToken.None));
        Assert.Equal("Subject 5", (await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None))!.Summary.Name);
    }

    [Fact]
    public async Task A_reconciled_key_repeated_inside_one_batch_is_already_ingested()
    {
        var old = await Store.CommitAsync([Email(uid: 10, body: "same")], CancellationToken.None);

        var results = await Store.CommitAsync(
            [Email(uid: 1, body: "same", uidValidity: 8), Email(uid: 1, body: "same", uidValidity: 8)], CancellationToken.None);

        Assert.Equal([CommitOutcome.Reconciled, CommitOutcome.AlreadyIngested], results.Select(r => r.Outcome));
        Assert.All(results, r => Assert.Equal(old[0].ContainerId, r.ContainerId));
        Assert.Equal(1, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_spanning_a_uidvalidity_change_reconciles_to_containers_made_earlier_in_it()
    {
        var results = await Store.CommitAsync(
            [
                Email(uid: 10, body: "same"), Email(uid: 11, body: "other"),
                Email(uid: 1, body: "same", uidValidity: 8), Email(uid: 2, body: "new", uidValidity: 8),
            ],
            CancellationToken.None);

        Assert.Equal(
            [CommitOutcome.Created, CommitOutcome.Created, CommitOutcome.Reconciled, CommitOutcome.Created],
            results.Select(r => r.Outcome));
        Assert.Equal(results[0].ContainerId, results[2].ContainerId);
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task A_batch_spanning_a_uidvalidity_change_reconciles_even_when_the_new_uidvalidity_comes_first()
    {
        var results = await Store.CommitAsync(
            [
                Email(uid: 1, body: "new", uidValidity: 8), Email(uid: 10, body: "same"), Email(uid: 11, body: "other"),
                Email(uid: 2, body: "same", uidValidity: 8),
            ],
            CancellationToken.None);

        Assert.Equal(
            [CommitOutcome.Created, CommitOutcome.Created, CommitOutcome.Created, CommitOutcome.Reconciled],
            results.Select(r => r.Outcome));
        Assert.Equal(results[1].ContainerId, results[3].ContainerId);
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Reconciliation_also_finds_a_container_of_a_higher_uidvalidity()
    {
        var old = await Store.CommitAsync([Email(uid: 10, body: "same", uidValidity: 9)], CancellationToken.None);

        var results = await Store.CommitAsync([Email(uid: 1, body: "same", uidValidity: 8)], CancellationToken.None);

        Assert.Equal(CommitOutcome.Reconciled, results[0].Outcome);
        Assert.Equal(old[0].ContainerId, results[0].ContainerId);
    }

    [Fact]
    public async Task Identical_bytes_under_one_uidvalidity_are_separate_containers()
    {
        var first = await Store.CommitAsync([Email(uid: 1, body: "twin"), Email(uid: 2, body: "twin")], CancellationToken.None);
        var later = await Store.CommitAsync([Email(uid: 3, body: "twin")], CancellationToken.None);

        Assert.All(first.Concat(later), r => Assert.Equal(CommitOutcome.Created, r.Outcome));
        Assert.Equal(3, first.Concat(later).Select(r => r.ContainerId).Distinct().Count());
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task After_a_uidvalidity_change_the_same_bytes_reconcile_to_the_old_container()
    {
        var old = await Store.CommitAsync([Email(uid: 10, body: "same"), Email(uid: 11, body: "other")], CancellationToken.None);

        var renumbered = await Store.CommitAsync(
            [Email(uid: 1, body: "same", uidValidity: 8), Email(uid: 2, body: "new", uidValidity: 8)], CancellationToken.None);

        Assert.Equal(CommitOutcome.Reconciled, renumbered[0].Outcome);
        Assert.Equal(old[0].ContainerId, renumbered[0].ContainerId);
        Assert.Equal(CommitOutcome.Created, renumbered[1].Outcome);
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
        Assert.Equal(new HashSet<uint> { 1, 2 }, await Store.CommittedUidsAsync(new MailboxId(Asset, Inbox), 8, 1, 100, CancellationToken.None));
        Assert.Equal(new HashSet<uint> { 10, 11 }, await Store.CommittedUidsAsync(new MailboxId(Asset, Inbox), 7, 1, 100, CancellationToken.None));

        // Delivered again after a crash: the reconciled key is now simply known.
        var again = await Store.CommitAsync([Email(uid: 1, body: "same", uidValidity: 8)], CancellationToken.None);
        Assert.Equal(CommitOutcome.AlreadyIngested, again[0].Outcome);
        Assert.Equal(old[0].ContainerId, again[0].ContainerId);
    }

    [Fact]
    public async Task After_a_migration_that_rewrote_headers_the_same_message_id_and_date_reconcile_to_the_old_container()
    {
        var old = await Store.CommitAsync([Email(uid: 10, body: "report", messageId: "<phish@x>"), Email(uid: 11, body: "other")],
            CancellationToken.None);

        var migrated = await Store.CommitAsync(
            [
                Email(uid: 1, body: "report", uidValidity: 8, messageId: "<phish@x>", header: "X-Migrated: yes\r\n"),
                Email(uid: 2, body: "other", uidValidity: 8, header: "X-Migrated: yes\r\n"),
            ],
            CancellationToken.None);

        Assert.Equal([CommitOutcome.Reconciled, CommitOutcome.Created], migrated.Select(r => r.Outcome));
        Assert.Equal(old[0].ContainerId, migrated[0].ContainerId);
    }

    [Theory]
    [InlineData("another date")]
    [InlineData("much larger")]
    [InlineData("no message-id")]
    public async Task A_changed_email_is_not_reconciled_by_message_id_unless_its_date_and_size_agree(string change)
    {
        var date = new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var messageId = change == "no message-id" ? "" : "<phish@x>";
        await Store.CommitAsync([Email(uid: 10, body: "report", messageId: messageId, date: date)], CancellationToken.None);

        var header = change == "much larger" ? $"X-Big: {new string('x', 20_000)}\r\n" : "X-Migrated: yes\r\n";
        var renumbered = await Store.CommitAsync(
            [Email(uid: 1, body: "report", uidValidity: 8, messageId: messageId, header: header, date: change == "another date" ? date.AddMinutes(1) : date)],
            CancellationToken.None);

        Assert.Equal(CommitOutcome.Created, renumbered[0].Outcome);
        Assert.Equal(2, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Two_identical_emails_reconcile_to_two_containers()
    {
        var old = await Store.CommitAsync([Email(uid: 10, body: "twin"), Email(uid: 11, body: "twin")], CancellationToken.None);

        var renumbered = await Store.CommitAsync(
            [Email(uid: 1, body: "twin", uidValidity: 8), Email(uid: 2, body: "twin", uidValidity: 8), Email(uid: 3, body: "twin", uidValidity: 8)],
            CancellationToken.None);

        Assert.Equal([CommitOutcome.Reconciled, CommitOutcome.Reconciled, CommitOutcome.Created], renumbered.Select(r => r.Outcome));
        Assert.Equal(old.Select(r => r.ContainerId).Order(), renumbered.Take(2).Select(r => r.ContainerId).Order());
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Same_bytes_in_another_folder_are_not_reconciled()
    {
        await Store.CommitAsync([Email(uid: 1, body: "same")], CancellationToken.None);

        var other = await Store.CommitAsync([Email(uid: 1, body: "same", uidValidity: 8, folder: "Reported")], CancellationToken.None);

        Assert.Equal(CommitOutcome.Created, other[0].Outcome);
        Assert.Equal(2, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    [Fact]
    public async Task Committed_uids_are_limited_to_the_range_and_uidvalidity()
    {
        await Store.CommitAsync([.. Enumerable.Range(1, 10).Select(i => Email(uid: (uint)i, body: $"m{i}"))], CancellationToken.None);

        var mailbox = new MailboxId(Asset, Inbox);
        Assert.Equal(new HashSet<uint> { 3, 4, 5 }, await Store.CommittedUidsAsync(mailbox, 7, 3, 5, CancellationToken.None));
        Assert.Empty(await Store.CommittedUidsAsync(mailbox, 8, 1, 10, CancellationToken.None));
        Assert.Empty(await Store.CommittedUidsAsync(new MailboxId(Asset, new FolderName("Other")), 7, 1, 10, CancellationToken.None));
        Assert.Equal(new HashSet<uint> { 10 }, await Store.CommittedUidsAsync(mailbox, 7, 10, uint.MaxValue, CancellationToken.None));
    }

    [Fact]
    public async Task Large_uids_and_uidvalidities_round_trip()
    {
        var results = await Store.CommitAsync([Email(uid: uint.MaxValue, body: "x", uidValidity: uint.MaxValue)], CancellationToken.None);

        var stored = await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None);
        Assert.Equal(uint.MaxValue, stored!.Summary.Uid);
        Assert.Equal(uint.MaxValue, stored.Summary.UidValidity);
    }

    [Fact]
    public async Task Concurrent_overlapping_batches_leave_exactly_one_container_per_key()
    {
        var mailboxes = new[] { "INBOX", "Reported" };
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            // Each task commits UIDs 1..30 of both folders in batches of 5, starting at a different offset.
            var emails = mailboxes.SelectMany(f => Enumerable.Range(1, 30).Select(u => Email(uid: (uint)u, body: $"{f}{u}", folder: f)))
                .ToList();
            var rotated = emails.Skip(t * 13).Concat(emails.Take(t * 13)).ToList();
            var results = new List<CommitResult>();
            foreach (var chunk in rotated.Chunk(5))
            {
                results.AddRange(await Store.CommitAsync(chunk, CancellationToken.None));
            }

            return results;
        })).ToList();

        var all = (await Task.WhenAll(tasks)).SelectMany(r => r).ToList();

        Assert.Equal(60, await Store.CountContainersAsync(null, CancellationToken.None));
        Assert.Equal(60, all.Count(r => r.Outcome == CommitOutcome.Created));
        Assert.Equal(180, all.Count(r => r.Outcome == CommitOutcome.AlreadyIngested));
        var byKey = all.GroupBy(r => (r.Source.Folder.Value, r.Source.Uid));
        Assert.All(byKey, g => Assert.Single(g.Select(r => r.ContainerId).Distinct()));
        var containers = await Store.ListContainersAsync(null, CancellationToken.None);
        Assert.Equal(containers.Count, containers.Select(c => c.MessageId).Distinct().Count());
    }

    [Fact]
    public async Task Artifacts_round_trip_unicode_nested_json_and_key_order()
    {
        var cef = new JsonObject
        {
            ["zeta"] = "last letter first",
            ["fromEmail"] = "пользователь@пример.рф",
            ["emailHeaders"] = new JsonObject { ["Subject"] = "Réunion 📅 \"quoted\" <tag> & \\ back", ["X-List"] = new JsonArray(1, "two", null, true) },
            ["alpha"] = 1.5,
            ["bodyText"] = "line1\r\nline2\u0000tab\t",
        };
        var types = new JsonObject { ["zeta"] = new JsonArray("email"), ["alpha"] = new JsonArray("hash", "md5") };
        var artifact = new Artifact("Email Artifact", cef, types, RunAutomation: true, SourceDataIdentifier: "sdi-1");
        var plain = new Artifact("Domain Artifact", new JsonObject { ["destinationDnsDomain"] = "例え.jp" }, null, false, "sdi-2");
        var email = Email(uid: 1, body: "u");
        email = email with { Email = email.Email with { Artifacts = [artifact, plain] } };

        var results = await Store.CommitAsync([email], CancellationToken.None);
        var stored = await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None);

        Assert.Equal(2, stored!.Artifacts.Count);
        var back = stored.Artifacts[0];
        Assert.Equal(["zeta", "fromEmail", "emailHeaders", "alpha", "bodyText"], back.Cef.Select(p => p.Key));
        Assert.Equal(cef.ToJsonString(), back.Cef.ToJsonString());
        Assert.Equal(types.ToJsonString(), back.CefTypes!.ToJsonString());
        Assert.True(back.RunAutomation);
        Assert.Equal("sdi-1", back.SourceDataIdentifier);
        Assert.Null(stored.Artifacts[1].CefTypes);
        Assert.False(stored.Artifacts[1].RunAutomation);
        Assert.Equal("例え.jp", (string?)stored.Artifacts[1].Cef["destinationDnsDomain"]);
        Assert.Equal("Réunion 📅 \"quoted\" <tag> & \\ back", (string?)back.Cef["emailHeaders"]!["Subject"]);
    }

    [Fact]
    public async Task Long_and_empty_artifact_and_file_lists_round_trip_in_order()
    {
        // Longer than one INSERT's rows (three statements, the last one partly filled), between two emails without any.
        var artifacts = Enumerable.Range(0, 40).Select(i => new Artifact(
            $"Artifact {i}",
            new JsonObject { ["index"] = i, ["text"] = $"ünïcødé {i} 📎" },
            i % 3 == 0 ? null : new JsonObject { ["index"] = new JsonArray("number") },
            RunAutomation: i % 2 == 0,
            SourceDataIdentifier: $"sdi-{i}")).ToList();
        var files = Enumerable.Range(0, 17)
            .Select(i => new VaultFile(Vault($"many{i}"), $"file {i}.bin", i * 1000L, new string((char)('a' + i % 6), 64), new string('c', 32)))
            .ToList();
        var empty = Email(uid: 1, body: "empty");
        var many = Email(uid: 2, body: "many");
        var after = Email(uid: 3, body: "after");
        empty = empty with { Email = empty.Email with { Artifacts = [], VaultFiles = [] } };
        many = many with { Email = many.Email with { Artifacts = artifacts, VaultFiles = files } };
        after = after with { Email = after.Email with { Artifacts = [], VaultFiles = [] } };

        var results = await Store.CommitAsync([empty, many, after], CancellationToken.None);

        Assert.All(results, r => Assert.Equal(CommitOutcome.Created, r.Outcome));
        foreach (var none in new[] { results[0], results[2] })
        {
            var stored = await Store.GetContainerAsync(none.ContainerId, CancellationToken.None);
            Assert.Equal(0, stored!.Summary.ArtifactCount);
            Assert.Empty(stored.Artifacts);
            Assert.Empty(stored.VaultFiles);
        }

        var full = await Store.GetContainerAsync(results[1].ContainerId, CancellationToken.None);
        Assert.Equal(40, full!.Summary.ArtifactCount);
        Assert.Equal(artifacts.Select(a => a.Name), full.Artifacts.Select(a => a.Name));
        Assert.Equal(artifacts.Select(a => a.Cef.ToJsonString()), full.Artifacts.Select(a => a.Cef.ToJsonString()));
        Assert.Equal(artifacts.Select(a => a.CefTypes?.ToJsonString()), full.Artifacts.Select(a => a.CefTypes?.ToJsonString()));
        Assert.Equal(artifacts.Select(a => a.RunAutomation), full.Artifacts.Select(a => a.RunAutomation));
        Assert.Equal(artifacts.Select(a => a.SourceDataIdentifier), full.Artifacts.Select(a => a.SourceDataIdentifier));
        Assert.Equal(files, full.VaultFiles);
    }

    [Fact]
    public async Task Getting_an_unknown_container_returns_null()
    {
        Assert.Null(await Store.GetContainerAsync(424242, CancellationToken.None));
        Assert.Null(await Store.GetQuarantinedAsync(424242, CancellationToken.None));
    }

    [Fact]
    public async Task Requarantining_updates_the_row_and_resolving_hides_it()
    {
        var source = new EmailSource(Asset, Inbox, 9, 7, new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.FromHours(2)));
        var raw = Vault("raw9");

        var first = await Store.QuarantineAsync(source, raw, "parse", "boom", "1.0", 3, CancellationToken.None);
        var second = await Store.QuarantineAsync(source, raw, "extract", "bang", "1.1", 4, CancellationToken.None);
        var other = await Store.QuarantineAsync(source with { Uid = 10, InternalDate = null }, raw, "store", "x", "1.1", 3, CancellationToken.None);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        var listed = await Store.ListQuarantineAsync(includeResolved: false, CancellationToken.None);
        Assert.Equal([first, other], listed.Select(q => q.Id));
        var row = await Store.GetQuarantinedAsync(first, CancellationToken.None);
        Assert.NotNull(row);
        Assert.Equal(source.Asset, row.Source.Asset);
        Assert.Equal(source.Folder, row.Source.Folder);
        Assert.Equal(9u, row.Source.Uid);
        Assert.Equal(7u, row.Source.UidValidity);
        Assert.Equal(source.InternalDate!.Value.UtcDateTime, row.Source.InternalDate!.Value.UtcDateTime);
        Assert.Equal(raw, row.RawEmail);
        Assert.Equal(("extract", "bang", "1.1", 4), (row.Stage, row.Error, row.ParserVersion, row.Attempts));
        Assert.Null(row.ResolvedAt);
        Assert.Null(listed[1].Source.InternalDate);

        await Store.ResolveQuarantinedAsync(first, CancellationToken.None);

        Assert.Equal([other], (await Store.ListQuarantineAsync(false, CancellationToken.None)).Select(q => q.Id));
        var all = await Store.ListQuarantineAsync(true, CancellationToken.None);
        Assert.Equal([first, other], all.Select(q => q.Id));
        Assert.NotNull(all[0].ResolvedAt);

        // Failing again after a resolution re-opens the same row.
        Assert.Equal(first, await Store.QuarantineAsync(source, raw, "parse", "again", "1.2", 1, CancellationToken.None));
        Assert.Null((await Store.GetQuarantinedAsync(first, CancellationToken.None))!.ResolvedAt);
    }

    [Fact]
    public async Task An_email_the_server_would_not_serve_is_quarantined_without_raw_bytes_and_gets_them_when_it_fails_later_on()
    {
        var source = new EmailSource(Asset, Inbox, 11, 7, null);
        const string answer = "BYE FETCH failed: Internal error occurred. Refer to server log for more information.";

        var id = await Store.QuarantineAsync(source, null, "fetch", answer, "1.0", 3, CancellationToken.None);

        var row = (await Store.GetQuarantinedAsync(id, CancellationToken.None))!;
        Assert.Null(row.RawEmail);
        Assert.Equal(("fetch", answer, 3), (row.Stage, row.Error, row.Attempts));
        Assert.Null(Assert.Single(await Store.ListQuarantineAsync(false, CancellationToken.None)).RawEmail);

        // Fetched at last, it failed at parse: the same row now has the raw bytes.
        Assert.Equal(id, await Store.QuarantineAsync(source, Vault("raw11"), "parse", "boom", "1.0", 3, CancellationToken.None));
        Assert.Equal(Vault("raw11"), (await Store.GetQuarantinedAsync(id, CancellationToken.None))!.RawEmail);
    }

    [Fact]
    public async Task A_small_raw_email_commits_with_its_container_once_and_one_without_bytes_stays_in_the_vault()
    {
        var bytes = Encoding.UTF8.GetBytes("Subject: in the store\r\n\r\nbody\r\n");
        var results = await Store.CommitAsync([Email(uid: 1, body: "a") with { RawBytes = bytes }, Email(uid: 2, body: "b")], CancellationToken.None);
        var again = await Store.CommitAsync([Email(uid: 1, body: "a") with { RawBytes = bytes }], CancellationToken.None);
        Assert.Equal(CommitOutcome.AlreadyIngested, again[0].Outcome);

        var stored = (await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None))!;
        Assert.Equal(bytes, stored.RawBytes);
        await using (var raw = stored.OpenRawEmail(new HashOnlyVault()))
        {
            using var copy = new MemoryStream();
            await raw!.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
        }

        Assert.Equal("Subject: in the store\r\n\r\nbody\r\n", StoredContainerJson.ReadRawEmail(new HashOnlyVault(), stored));
        var inVault = (await Store.GetContainerAsync(results[1].ContainerId, CancellationToken.None))!;
        Assert.Null(inVault.RawBytes);
        Assert.Null(inVault.OpenRawEmail(new HashOnlyVault()));
    }

    [Fact]
    public async Task A_new_container_commits_with_one_pending_delivery_per_destination_and_a_recommit_adds_none()
    {
        var results = await Store.CommitAsync([Email(uid: 1, body: "a") with { Destinations = ["soar", "siem"] }, Email(uid: 2, body: "b")],
            CancellationToken.None);
        var again = await Store.CommitAsync([Email(uid: 1, body: "a") with { Destinations = ["soar", "siem"] }], CancellationToken.None);
        Assert.Equal(CommitOutcome.AlreadyIngested, again[0].Outcome);

        var all = await Store.ListDeliveriesAsync(DeliveryFilter.All, null, 0, 100, CancellationToken.None);
        Assert.Equal([("soar", results[0].ContainerId), ("siem", results[0].ContainerId)], all.Select(d => (d.Destination, d.ContainerId)));
        Assert.All(all, d => Assert.Equal((DeliveryState.Pending, 0, "pending"), (d.State, d.Attempts, d.StateName)));
        Assert.Single(await Store.DueDeliveriesAsync("soar", DateTimeOffset.UtcNow.AddSeconds(1), 10, CancellationToken.None));
        Assert.Empty(await Store.DueDeliveriesAsync("other", DateTimeOffset.UtcNow.AddSeconds(1), 10, CancellationToken.None));
    }

    [Fact]
    public async Task Deliveries_fail_come_due_again_die_and_are_retried_and_the_backlog_says_so()
    {
        var committed = await Store.CommitAsync(
            [.. Enumerable.Range(1, 4).Select(uid => Email(uid: (uint)uid, body: "m" + uid) with { Destinations = ["hook"] })], CancellationToken.None);
        var now = DateTimeOffset.UtcNow.AddSeconds(1);
        var due = await Store.DueDeliveriesAsync("hook", now, 10, CancellationToken.None);
        Assert.Equal(committed.Select(c => c.ContainerId), due.Select(d => d.ContainerId));
        Assert.Equal(2, (await Store.DueDeliveriesAsync("hook", now, 2, CancellationToken.None)).Count);

        await Store.MarkDeliveredAsync(due[0].Id, "remote-1", CancellationToken.None);
        await Store.MarkFailedAsync(due[1].Id, 1, now.AddMinutes(5), "HTTP 503", dead: false, "soar-7", CancellationToken.None);
        await Store.MarkFailedAsync(due[2].Id, 1, now, "HTTP 400 refused", dead: true, null, CancellationToken.None);

        Assert.Equal([due[3].Id], (await Store.DueDeliveriesAsync("hook", now, 10, CancellationToken.None)).Select(d => d.Id));
        Assert.Equal([due[1].Id, due[3].Id], (await Store.DueDeliveriesAsync("hook", now.AddMinutes(6), 10, CancellationToken.None)).Select(d => d.Id));
        var delivered = (await Store.GetDeliveryAsync(due[0].Id, CancellationToken.None))!;
        Assert.Equal((DeliveryState.Delivered, "remote-1", 1), (delivered.State, delivered.RemoteId, delivered.Attempts));
        Assert.NotNull(delivered.DeliveredAt);
        var failing = (await Store.GetDeliveryAsync(due[1].Id, CancellationToken.None))!;
        Assert.Equal(("failed", 1, "HTTP 503", "soar-7"), (failing.StateName, failing.Attempts, failing.LastError, failing.RemoteId));
        Assert.Equal([due[1].Id], (await Store.ListDeliveriesAsync(DeliveryFilter.Failed, null, 0, 10, CancellationToken.None)).Select(d => d.Id));
        Assert.Equal([due[2].Id], (await Store.ListDeliveriesAsync(DeliveryFilter.Dead, "hook", 0, 10, CancellationToken.None)).Select(d => d.Id));
        Assert.Equal([due[1].Id, due[3].Id], (await Store.ListDeliveriesAsync(DeliveryFilter.Pending, null, 0, 10, CancellationToken.None)).Select(d => d.Id));
        Assert.Equal([due[2].Id, due[3].Id], (await Store.ListDeliveriesAsync(DeliveryFilter.All, null, due[1].Id, 10, CancellationToken.None)).Select(d => d.Id));

        var backlog = Assert.Single(await Store.DeliveryBacklogAsync(CancellationToken.None));
        Assert.Equal(("hook", 2L, 1L, 1L), (backlog.Destination, backlog.Pending, backlog.Failing, backlog.Dead));
        Assert.NotNull(backlog.OldestPending);

        // Dead ones come back with their attempts counted anew; a delivered one is never retried, nor failed afterwards.
        Assert.Equal(1, await Store.RetryDeliveriesAsync(null, "hook", CancellationToken.None));
        var retried = (await Store.GetDeliveryAsync(due[2].Id, CancellationToken.None))!;
        Assert.Equal((DeliveryState.Pending, 0, null, "pending"), (retried.State, retried.Attempts, retried.LastError, retried.StateName));
        Assert.Equal(0, await Store.RetryDeliveriesAsync(due[0].Id, null, CancellationToken.None));
        Assert.Equal(1, await Store.RetryDeliveriesAsync(due[1].Id, null, CancellationToken.None));
        Assert.Equal([due[1].Id, due[2].Id, due[3].Id],
            (await Store.DueDeliveriesAsync("hook", DateTimeOffset.UtcNow.AddSeconds(1), 10, CancellationToken.None)).Select(d => d.Id));
        await Store.MarkDeliveredAsync(due[2].Id, null, CancellationToken.None);
        await Store.MarkFailedAsync(due[2].Id, 3, now, "late", dead: true, null, CancellationToken.None);
        Assert.Equal(DeliveryState.Delivered, (await Store.GetDeliveryAsync(due[2].Id, CancellationToken.None))!.State);
    }

    [Fact]
    public async Task A_container_keeps_the_node_that_ingested_it_and_one_without_a_node_has_none()
    {
        var results = await Store.CommitAsync([Email(uid: 1, body: "a") with { Node = "10.0.0.11:4053" }, Email(uid: 2, body: "b")],
            CancellationToken.None);

        Assert.Equal("10.0.0.11:4053", (await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None))!.Summary.Node);
        Assert.Null((await Store.GetContainerAsync(results[1].ContainerId, CancellationToken.None))!.Summary.Node);
        Assert.Equal(["10.0.0.11:4053", null], (await Store.ListContainersAsync(null, CancellationToken.None)).Select(c => c.Node));

        // The container belongs to the node that made it: committing the email again from another node changes nothing.
        var again = await Store.CommitAsync([Email(uid: 1, body: "a") with { Node = "10.0.0.12:4053" }], CancellationToken.None);
        Assert.Equal(CommitOutcome.AlreadyIngested, again[0].Outcome);
        Assert.Equal("10.0.0.11:4053", (await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None))!.Summary.Node);
    }

    [Fact]
    public async Task A_store_made_before_nodes_were_recorded_gains_the_column_with_no_node_on_its_containers()
    {
        var old = await Store.CommitAsync([Email(uid: 1, body: "old")], CancellationToken.None);
        await ExecuteSqlAsync("ALTER TABLE containers DROP COLUMN node");

        await Store.InitializeAsync(CancellationToken.None);
        var made = await Store.CommitAsync([Email(uid: 2, body: "new") with { Node = "engine-2:4053" }], CancellationToken.None);

        Assert.Null((await Store.GetContainerAsync(old[0].ContainerId, CancellationToken.None))!.Summary.Node);
        Assert.Equal("engine-2:4053", (await Store.GetContainerAsync(made[0].ContainerId, CancellationToken.None))!.Summary.Node);
        await Store.InitializeAsync(CancellationToken.None);
        Assert.Equal([null, "engine-2:4053"], (await Store.ListContainersAsync(null, CancellationToken.None)).Select(c => c.Node));
    }

    [Fact]
    public async Task A_store_made_before_the_fetch_stage_keeps_its_quarantine_and_takes_rows_without_raw_bytes_once_initialized()
    {
        await ExecuteSqlAsync("DROP TABLE quarantine;" + LegacyQuarantineTable);
        var old = await Store.QuarantineAsync(new EmailSource(Asset, Inbox, 5, 7, null), Vault("raw5"), "parse", "boom", "1.0", 3,
            CancellationToken.None);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() =>
            Store.QuarantineAsync(new EmailSource(Asset, Inbox, 6, 7, null), null, "fetch", "NO", "1.0", 3, CancellationToken.None));

        await Store.InitializeAsync(CancellationToken.None);

        var unserved = await Store.QuarantineAsync(new EmailSource(Asset, Inbox, 6, 7, null), null, "fetch", "NO", "1.0", 3, CancellationToken.None);
        var rows = await Store.ListQuarantineAsync(false, CancellationToken.None);
        Assert.Equal([old, unserved], rows.Select(r => r.Id));
        Assert.True(unserved > old);
        Assert.Equal((Vault("raw5"), "parse", 5u), (rows[0].RawEmail, rows[0].Stage, rows[0].Source.Uid));
        Assert.Null(rows[1].RawEmail);
        await Store.InitializeAsync(CancellationToken.None);
        Assert.Equal(2, (await Store.ListQuarantineAsync(false, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Pages_of_40_return_each_of_250_containers_once_in_id_order_and_the_last_page_has_no_cursor()
    {
        foreach (var chunk in Enumerable.Range(1, 250).Chunk(50))
        {
            await Store.CommitAsync([.. chunk.Select(i => Email(uid: (uint)i, body: $"p{i}"))], CancellationToken.None);
        }

        var all = (await Store.ListContainersAsync(null, CancellationToken.None)).Select(c => c.Id).ToList();
        var pages = await PagesAsync(new ContainerQuery { Limit = 40 });

        Assert.Equal(7, pages.Count);
        Assert.Equal([40, 40, 40, 40, 40, 40, 10], pages.Select(p => p.Containers.Count));
        Assert.Equal(all, pages.SelectMany(p => p.Containers).Select(c => c.Id));
        Assert.Equal(250, all.Distinct().Count());
        Assert.All(pages.SkipLast(1), p => Assert.Equal(p.Containers[^1].Id, p.NextAfterId));
        Assert.Null(pages[^1].NextAfterId);
    }

    [Fact]
    public async Task A_last_page_that_is_exactly_full_has_no_cursor()
    {
        await Store.CommitAsync([.. Enumerable.Range(1, 6).Select(i => Email(uid: (uint)i, body: $"f{i}"))], CancellationToken.None);

        var pages = await PagesAsync(new ContainerQuery { Limit = 3 });

        Assert.Equal([3, 3], pages.Select(p => p.Containers.Count));
        Assert.NotNull(pages[0].NextAfterId);
        Assert.Null(pages[1].NextAfterId);
        Assert.Empty((await Store.QueryContainersAsync(new ContainerQuery { AfterId = pages[1].Containers[^1].Id, Limit = 3 },
            CancellationToken.None)).Containers);
    }

    [Fact]
    public async Task A_page_limit_below_one_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Store.QueryContainersAsync(new ContainerQuery { Limit = 0 }, CancellationToken.None));
    }

    [Fact]
    public async Task Each_filter_and_their_combination_select_only_matching_containers()
    {
        // Every combination of two assets, two folders and two labels, three UIDs each: 24 containers.
        var emails = new List<EmailToCommit>();
        foreach (var asset in new[] { "phish", "spam" })
        {
            foreach (var folder in new[] { "INBOX", "Reported" })
            {
                foreach (var label in new[] { "imap", "phishing" })
                {
                    emails.AddRange(Enumerable.Range(1, 3).Select(u =>
                        Email(uid: (uint)(u + emails.Count), body: $"{asset}{folder}{label}{u}", folder: folder, asset: asset, label: label)));
                }
            }
        }

        var ids = (await Store.CommitAsync(emails, CancellationToken.None)).Select(r => r.ContainerId).ToList();
        var byId = ids.Zip(emails).ToDictionary(p => p.First, p => p.Second.Email.Container);

        async Task<List<long>> Matching(ContainerQuery query) =>
            [.. (await Store.QueryContainersAsync(query, CancellationToken.None)).Containers.Select(c => c.Id)];
        List<long> Expected(Func<EmailContainer, long, bool> keep) => [.. ids.Where(id => keep(byId[id], id))];

        Assert.Equal(ids, await Matching(new ContainerQuery()));
        Assert.Equal(Expected((c, _) => c.Source.Asset.Value == "spam"), await Matching(new ContainerQuery { Asset = "spam" }));
        Assert.Equal(Expected((c, _) => c.Source.Folder.Value == "Reported"), await Matching(new ContainerQuery { Folder = "Reported" }));
        Assert.Equal(Expected((c, _) => c.Label == "phishing"), await Matching(new ContainerQuery { Label = "phishing" }));
        Assert.Equal(Expected((_, id) => id >= ids[5] && id <= ids[17]), await Matching(new ContainerQuery { FromId = ids[5], ToId = ids[17] }));
        Assert.Equal(Expected((_, id) => id >= ids[20]), await Matching(new ContainerQuery { FromId = ids[20] }));
        Assert.Equal(Expected((_, id) => id <= ids[2]), await Matching(new ContainerQuery { ToId = ids[2] }));
        Assert.Empty(await Matching(new ContainerQuery { Asset = "phish", Label = "unknown" }));

        var combined = new ContainerQuery { Asset = "phish", Folder = "Reported", Label = "phishing", FromId = ids[10], ToId = ids[22] };
        var expected = Expected((c, id) => c.Source.Asset.Value == "phish" && c.Source.Folder.Value == "Reported" && c.Label == "phishing"
            && id >= ids[10] && id <= ids[22]);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, await Matching(combined));

        // Paging through a filter: each page holds only matches, and the cursor skips what the filter leaves out.
        var filtered = new ContainerQuery { Label = "phishing", Limit = 5 };
        var pages = await PagesAsync(filtered);
        Assert.Equal(Expected((c, _) => c.Label == "phishing"), pages.SelectMany(p => p.Containers).Select(c => c.Id));
        Assert.Equal([5, 5, 2], pages.Select(p => p.Containers.Count));
    }

    [Fact]
    public async Task A_search_matches_the_subject_or_the_sender_ignoring_case_and_takes_like_wildcards_literally()
    {
        EmailToCommit With(uint uid, string name, string from)
        {
            var e = Email(uid: uid, body: $"s{uid}");
            var artifacts = e.Email.Artifacts.Select(a => a.Name == "Email Artifact" ? a with { Cef = new JsonObject { ["fromEmail"] = from } } : a).ToList();
            return e with { Email = e.Email with { Container = e.Email.Container with { Name = name }, Artifacts = artifacts } };
        }

        var ids = (await Store.CommitAsync(
        [
            With(1, "Invoice overdue", "billing@example.org"),
            With(2, "Your parcel", "Courier <track@invoice-portal.example>"),
            With(3, "Lunch", "colleague@example.org"),
            With(4, "100% off_today", "promo@example.org"),
        ], CancellationToken.None)).Select(r => r.ContainerId).ToList();

        async Task<List<long>> Search(string text) =>
            [.. (await Store.QueryContainersAsync(new ContainerQuery { Search = text }, CancellationToken.None)).Containers.Select(c => c.Id)];

        Assert.Equal([ids[0], ids[1]], await Search("INVOICE"));
        Assert.Equal([ids[2]], await Search("colleague@"));
        Assert.Equal([ids[3]], await Search("100%"));
        Assert.Equal([ids[3]], await Search("off_"));
        Assert.Empty(await Search("of%t"));
        Assert.Equal(4, (await Search("  ")).Count);
        Assert.Equal([ids[1]], (await Store.QueryContainersAsync(new ContainerQuery { Search = "invoice", AfterId = ids[0], Limit = 1 },
            CancellationToken.None)).Containers.Select(c => c.Id));
    }

    [Fact]
    public async Task Listed_artifact_counts_are_each_containers_own_including_none_and_many()
    {
        var none = Email(uid: 1, body: "none");
        none = none with { Email = none.Email with { Artifacts = [] } };
        var many = Email(uid: 2, body: "many");
        many = many with
        {
            Email = many.Email with
            {
                Artifacts = [.. Enumerable.Range(0, 37).Select(i => new Artifact($"A{i}", new JsonObject { ["i"] = i }, null, false, $"s{i}"))],
            },
        };
        var two = Email(uid: 3, body: "two");
        await Store.CommitAsync([none, many, two], CancellationToken.None);
        // Another container's artifacts must not leak into the count of the one listed before or after it.
        await Store.CommitAsync([Email(uid: 4, body: "later")], CancellationToken.None);

        Assert.Equal([0, 37, 2, 2], (await Store.ListContainersAsync(null, CancellationToken.None)).Select(c => c.ArtifactCount));
        var page = await Store.QueryContainersAsync(new ContainerQuery { AfterId = (await Store.ListContainersAsync(null, CancellationToken.None))[0].Id, Limit = 2 },
            CancellationToken.None);
        Assert.Equal([37, 2], page.Containers.Select(c => c.ArtifactCount));
        Assert.Equal(4, await Store.CountContainersAsync(null, CancellationToken.None));
    }

    /// <summary>Every page of <paramref name="query"/>, following the cursors from its first page to its last.</summary>
    private async Task<List<ContainerPage>> PagesAsync(ContainerQuery query)
    {
        var pages = new List<ContainerPage>();
        long? after = null;
        do
        {
            var page = await Store.QueryContainersAsync(query with { AfterId = after }, CancellationToken.None);
            pages.Add(page);
            after = page.NextAfterId;
            Assert.True(pages.Count <= 1000, "the cursors do not end");
        }
        while (after is not null);

        return pages;
    }

    protected static EmailToCommit Email(uint uid, string body, uint uidValidity = 7, string folder = "INBOX", string asset = "phish",
        string label = "imap", string? header = null, string? messageId = null, DateTimeOffset? date = null)
    {
        var bytes = Encoding.UTF8.GetBytes($"{header}Subject: {body}\r\n\r\n{body}");
        var source = new EmailSource(new AssetName(asset), new FolderName(folder), uid, uidValidity, DateTimeOffset.UnixEpoch.AddSeconds(uid));
        var container = new EmailContainer
        {
            Name = $"Subject {uid}",
            SourceDataIdentifier = $"{folder} : {uid}",
            Label = label,
            Source = source,
            MessageId = messageId ?? $"<{uid}@example.org>".Replace("@", folder == "INBOX" ? "@" : $".{folder}@", StringComparison.Ordinal),
            Date = date ?? new DateTimeOffset(2024, 1, 1, 9, 0, 0, TimeSpan.FromHours(-5)),
            RawSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)),
            RawSize = bytes.Length,
        };
        Artifact[] artifacts =
        [
            new("Email Artifact", new JsonObject { ["fromEmail"] = "a@example.org" }, new JsonObject { ["fromEmail"] = new JsonArray("email") }, true, "e"),
            new("URL Artifact", new JsonObject { ["requestURL"] = "http://x.example" }, null, false, "u"),
        ];
        VaultFile[] files = [new(Vault("file" + body), "a.txt", 3, new string('a', 64), new string('b', 32))];
        return new EmailToCommit(new ProcessedEmail(container, artifacts, files, []), Vault("raw" + body));
    }

    protected static VaultId Vault(string seed) => new(Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed))));
}

public sealed class SqliteContainerStoreTests : ContainerStoreContract, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("imapactors-store-").FullName;

    protected override string LegacyQuarantineTable => """
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT, asset TEXT NOT NULL, folder TEXT NOT NULL, uid_validity INTEGER NOT NULL,
            uid INTEGER NOT NULL, internal_date TEXT NULL, raw_vault_id TEXT NOT NULL, stage TEXT NOT NULL, error TEXT NOT NULL,
            parser_version TEXT NOT NULL, attempts INTEGER NOT NULL, quarantined_at TEXT NOT NULL, resolved_at TEXT NULL,
            UNIQUE (asset, folder, uid_validity, uid));
        """;

    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.Sqlite, $"Data Source={Path.Combine(_folder, "nested", "store.db")}");

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed class PostgresContainerStoreTests : ContainerStoreContract
{
    protected override string LegacyQuarantineTable => """
        CREATE TABLE quarantine (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, asset TEXT NOT NULL, folder TEXT NOT NULL,
            uid_validity BIGINT NOT NULL, uid BIGINT NOT NULL, internal_date TIMESTAMPTZ NULL, raw_vault_id TEXT NOT NULL,
            stage TEXT NOT NULL, error TEXT NOT NULL, parser_version TEXT NOT NULL, attempts INTEGER NOT NULL,
            quarantined_at TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ NULL, UNIQUE (asset, folder, uid_validity, uid));
        """;

    protected override StorageSettings CreateSettings() =>
        new(StorageProvider.PostgreSql, Testing.PostgresServices.CreateDatabase("store"));

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_key_another_writer_commits_during_the_batch_wins_and_the_batch_leaves_no_rows_for_it()
    {
        // Another writer that does not hold the mailbox's lock (a node still finishing a hand-over) has written the key
        // of UID 2 and not committed yet: the batch's insert of that key waits for it, then finds it taken.
        await using var other = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        long winner;
        await using (var insert = new Npgsql.NpgsqlCommand("""
            INSERT INTO containers (asset, folder, uid_validity, uid, name, sdi, label, raw_sha256, raw_size, raw_vault_id, created_at)
            VALUES ('phish', 'INBOX', 7, 2, 'theirs', 'theirs', 'imap', 'x', 1, 'x', now()) RETURNING id
            """, other, transaction))
        {
            winner = (long)(await insert.ExecuteScalarAsync())!;
        }

        await using (var key = new Npgsql.NpgsqlCommand(
            $"INSERT INTO email_keys (asset, folder, uid_validity, uid, container_id) VALUES ('phish', 'INBOX', 7, 2, {winner})", other, transaction))
        {
            await key.ExecuteNonQueryAsync();
        }

        var commit = Store.CommitAsync([Email(uid: 1, body: "a"), Email(uid: 2, body: "b"), Email(uid: 3, body: "c")], CancellationToken.None);
        await WaitForALockWaitAsync(commit);
        await transaction.CommitAsync();
        var results = await commit;

        Assert.Equal([CommitOutcome.Created, CommitOutcome.AlreadyIngested, CommitOutcome.Created], results.Select(r => r.Outcome));
        Assert.Equal(winner, results[1].ContainerId);
        Assert.Equal(3, await Store.CountContainersAsync(null, CancellationToken.None));
        var containers = await Store.ListContainersAsync(null, CancellationToken.None);
        Assert.Equal(["Subject 1", "theirs", "Subject 3"], containers.OrderBy(c => c.Uid).Select(c => c.Name));
        // The batch's own container for UID 2 is gone with every row it had.
        foreach (var table in new[] { "artifacts", "vault_files", "raw_emails", "deliveries" })
        {
            Assert.Equal(0L, await ScalarAsync(
                $"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM containers c WHERE c.id = t.container_id)"));
        }

        Assert.Equal(4L, await ScalarAsync("SELECT count(*) FROM artifacts"));
        Assert.Equal(0L, await ScalarAsync($"SELECT count(*) FROM artifacts WHERE container_id = {winner}"));
    }

    [Fact]
    public async Task Opening_a_current_store_does_not_wait_for_a_commit_in_flight_on_another_node()
    {
        // Another node's batch holds its transaction open on containers; a node starting (or a CLI verb) opens the store.
        await Store.CommitAsync([Email(uid: 1, body: "a")], CancellationToken.None);
        await using var other = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await using (var insert = new Npgsql.NpgsqlCommand(
            "INSERT INTO containers (asset, folder, uid_validity, uid, name, sdi, label, raw_sha256, raw_size, raw_vault_id, created_at) " +
            "VALUES ('phish', 'INBOX', 7, 99, 'n', 's', 'imap', 'x', 1, 'x', now())", other, transaction))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await using var second = ContainerStoreFactory.Create(Settings);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await second.InitializeAsync(limit.Token);
        Assert.Equal(1, await second.CountContainersAsync(null, limit.Token));
        await transaction.RollbackAsync();
    }

    [Fact]
    public async Task Emails_and_file_chunks_are_compressed_with_lz4_and_read_back_unchanged()
    {
        // The test server (Debian's PostgreSQL 15) is built with lz4, as distributions' and the official images' are.
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"));
        Assert.Equal(2L, await ScalarAsync(ContentColumnsWith("l")));

        var bytes = CompressibleEmail();
        var results = await Store.CommitAsync([Email(uid: 1, body: "a") with { RawBytes = bytes }], CancellationToken.None);
        Assert.Equal("lz4", await TextAsync("SELECT pg_column_compression(content) FROM raw_emails"));
        Assert.Equal(bytes, (await Store.GetContainerAsync(results[0].ContainerId, CancellationToken.None))!.RawBytes);
    }

    [Fact]
    public async Task A_store_with_pglz_columns_moves_to_lz4_when_opened_and_its_emails_read_back_unchanged()
    {
        // A store made by an earlier version: both columns on the server's default (pglz), an email stored that way.
        await ExecuteSqlAsync("""
            ALTER TABLE raw_emails ALTER COLUMN content SET COMPRESSION pglz;
            ALTER TABLE vault_chunks ALTER COLUMN content SET COMPRESSION pglz;
            """);
        var old = CompressibleEmail();
        var before = await Store.CommitAsync([Email(uid: 1, body: "a") with { RawBytes = old }], CancellationToken.None);
        Assert.Equal("pglz", await TextAsync("SELECT pg_column_compression(content) FROM raw_emails"));

        await using var reopened = ContainerStoreFactory.Create(Settings);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Equal(2L, await ScalarAsync(ContentColumnsWith("l")));

        var added = CompressibleEmail("another");
        var after = await reopened.CommitAsync([Email(uid: 2, body: "b") with { RawBytes = added }], CancellationToken.None);
        Assert.Equal("pglz,lz4", await TextAsync("SELECT string_agg(pg_column_compression(content), ',' ORDER BY container_id) FROM raw_emails"));
        Assert.Equal(old, (await reopened.GetContainerAsync(before[0].ContainerId, CancellationToken.None))!.RawBytes);
        Assert.Equal(added, (await reopened.GetContainerAsync(after[0].ContainerId, CancellationToken.None))!.RawBytes);
    }

    [Fact]
    public async Task A_batch_with_more_artifact_rows_than_one_statement_binds_stores_them_all_in_order()
    {
        // 3 x 3,400 artifacts of 7 values each: 71,400 values, more than one statement may bind at all (65,535), so the
        // rows go in three statements, split inside the first and the second email.
        var emails = Enumerable.Range(1, 3).Select(uid =>
        {
            var email = Email(uid: (uint)uid, body: $"wide{uid}");
            var artifacts = Enumerable.Range(0, 3400)
                .Select(i => new Artifact($"A {uid}.{i}", new JsonObject { ["i"] = i }, null, RunAutomation: i == 3399, SourceDataIdentifier: $"{uid}-{i}"))
                .ToList();
            return email with { Email = email.Email with { Artifacts = artifacts } };
        }).ToList();

        var results = await Store.CommitAsync(emails, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(CommitOutcome.Created, r.Outcome));
        for (var e = 0; e < emails.Count; e++)
        {
            var stored = (await Store.GetContainerAsync(results[e].ContainerId, CancellationToken.None))!;
            Assert.Equal(emails[e].Email.Artifacts.Select(a => a.SourceDataIdentifier), stored.Artifacts.Select(a => a.SourceDataIdentifier));
            Assert.Equal(emails[e].Email.Artifacts.Select(a => a.RunAutomation), stored.Artifacts.Select(a => a.RunAutomation));
        }

        Assert.Equal(10_200L, await ScalarAsync("SELECT count(*) FROM artifacts"));
    }

    private static string ContentColumnsWith(string compression) =>
        "SELECT count(*) FROM pg_attribute WHERE attrelid IN ('raw_emails'::regclass, 'vault_chunks'::regclass) " +
        $"AND attname = 'content' AND attcompression = '{compression}'";

    /// <summary>An email of about 12 KB that compresses well, so the server compresses it rather than storing it as is.</summary>
    private static byte[] CompressibleEmail(string subject = "compressible") =>
        Encoding.UTF8.GetBytes($"Subject: {subject}\r\n\r\n" + string.Concat(Enumerable.Repeat("the same line of a long body\r\n", 400)));

    private async Task<string?> TextAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return (string?)await command.ExecuteScalarAsync();
    }

    /// <summary>Returns once a backend of this database waits for a lock, or fails when <paramref name="commit"/> ends first.</summary>
    private async Task WaitForALockWaitAsync(Task commit)
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.False(commit.IsCompleted, "the batch finished before the other writer committed");
            if (await ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("the batch never waited for the other writer's key");
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
