using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ImapActors.Cli.Samples;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Http;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Storage;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Delivery;

/// <summary>
/// Containers delivered from the outbox by <c>imapactors run</c> processes, from the real Dovecot to a SOAR REST emulator
/// and a webhook receiver on 127.0.0.1, through the faults a destination has: errors, dropped connections, an outage,
/// a refusal, and the engine killed while it delivers.
/// </summary>
public sealed class DeliveryTests(ITestOutputHelper output)
{
    private const string Destination = "soar";

    [Fact]
    public async Task Soar_gets_each_of_1000_emails_once_through_500s_dropped_connections_a_60s_outage_and_a_sigkill()
    {
        const int emails = 1000;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("deliver");
        var mail = new SampleMail(170);
        // Every email has a file (a PDF of its own), so every container has attachments and Vault Artifacts to send.
        dovecot.LoadMessages(user.Name, "INBOX", Enumerable.Range(0, emails).Select(n => mail.Make((SampleMail.Kind)(n % 5), n, pdfBytes: 1500)));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var token = HttpApiFixture.NewKey();
        await using var soar = new SoarEmulator(token) { FailureRate = 0.3, DropRate = 0.05 };
        await soar.StartAsync();
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        env["IMAPACTORS_TEST_SOAR_TOKEN"] = token;
        var asset = harness.Settings.Assets[0].Name.Value;
        File.AppendAllText(config, DeliveryProcess.Config(asset,
            $$"""{{Destination}} { type = soar, url = "{{soar.Url}}", token = ${?IMAPACTORS_TEST_SOAR_TOKEN}, label = "phishing", retry_min = 50ms, retry_max = 1s }""",
            $"deliver_to = [{Destination}], soar_asset_id = 7"));

        Task<double> Backlog(DeliveryProcess p) => p.MetricAsync("imapactors_delivery_backlog_containers", ("destination", Destination));
        var first = await DeliveryProcess.StartAsync(config, env);
        DeliveryProcess? second = null;
        try
        {
            await DeliveryProcess.WaitForAsync(() => Task.FromResult(soar.ContainerCount >= 150), TimeSpan.FromMinutes(3), "150 containers in SOAR");

            // SOAR goes down for 60 s; ingestion does not wait for it: every email commits, the outbox holds the rest.
            var down = DateTime.UtcNow;
            await soar.StopAsync();
            var deliveredBeforeOutage = soar.ContainerCount;
            await DeliveryProcess.WaitForAsync(async () => await first.MetricAsync("imapactors_mailbox_committed_uids") == emails,
                TimeSpan.FromSeconds(55), "every email committed while SOAR is down");
            var backlog = await Backlog(first);
            output.WriteLine($"SOAR down after {deliveredBeforeOutage} containers; all {emails} committed {(DateTime.UtcNow - down).TotalSeconds:0.0} s later "
                + $"with {backlog} in the outbox");
            Assert.True(backlog >= emails - deliveredBeforeOutage - 4, $"backlog {backlog} while down");
            await Task.Delay(TimeSpan.FromSeconds(60) - (DateTime.UtcNow - down));
            await soar.StartAsync();

            // Back up, and the engine killed mid-delivery: the next run finishes the outbox.
            await DeliveryProcess.WaitForAsync(() => Task.FromResult(soar.ContainerCount >= 500), TimeSpan.FromMinutes(3), "500 containers in SOAR");
            first.Signal("-KILL");
            first.Process.WaitForExit();
            output.WriteLine($"SIGKILL at {soar.ContainerCount} containers in SOAR");
            second = await DeliveryProcess.StartAsync(config, env);
            await DeliveryProcess.WaitForAsync(async () => await Backlog(second) == 0, TimeSpan.FromMinutes(5), "the outbox delivered");
            var dead = await second.MetricAsync("imapactors_delivery_dead_containers", ("destination", Destination));
            Assert.Equal(0, second.Stop());
            if (dead > 0)
            {
                foreach (var line in second.Log.Concat(first.Log).Where(l => l.Contains("is dead after", StringComparison.Ordinal)))
                {
                    output.WriteLine(line);
                }
            }

            Assert.Equal(0, dead);
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
        }

        output.WriteLine($"SOAR answered {soar.Requests} requests");
        await using var store = ContainerStoreFactory.Create(harness.Settings.Storage);
        await store.InitializeAsync(CancellationToken.None);
        var ours = await store.ListContainersAsync(null, CancellationToken.None);
        Assert.Equal(emails, ours.Count);
        var delivered = await store.ListDeliveriesAsync(DeliveryFilter.All, null, 0, 10_000, CancellationToken.None);
        Assert.Equal(emails, delivered.Count);
        Assert.All(delivered, d => Assert.Equal(DeliveryState.Delivered, d.State));

        var received = soar.Containers();
        Assert.Equal(emails, received.Count);
        Assert.Equal(emails, received.Select(c => c.Sdi).Distinct().Count());
        Assert.All(received, c => Assert.Equal(7, c.AssetId));
        Assert.All(received, c => Assert.Equal("phishing", c.Label));
        var bySdi = received.ToDictionary(c => c.Sdi);
        foreach (var summary in ours)
        {
            var container = (await store.GetContainerAsync(summary.Id, CancellationToken.None))!;
            var theirs = bySdi[summary.SourceDataIdentifier];
            Assert.Equal(theirs.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), delivered.Single(d => d.ContainerId == summary.Id).RemoteId);
            Assert.Equal(container.Artifacts.Count, theirs.Artifacts.Count);
            Assert.Equal(container.Artifacts.Select(a => a.SourceDataIdentifier).Order(), theirs.Artifacts.Select(a => a.Sdi!).Order());
            Assert.Equal(container.VaultFiles.Select(f => f.VaultId.Value).Distinct().Order(), theirs.Attachments.Select(a => a.VaultId).Order());
            Assert.NotEmpty(theirs.Attachments);
            var playbook = Assert.Single(theirs.Artifacts, a => a.RunAutomation);
            Assert.Equal(theirs.Artifacts.Concat<object>(theirs.Attachments).Max(Sequence), playbook.Sequence);
            Assert.False(string.IsNullOrEmpty(theirs.RawEmail));
        }
    }

    private static long Sequence(object part) => part switch
    {
        SoarEmulator.Artifact a => a.Sequence,
        SoarEmulator.Attachment a => a.Sequence,
        _ => 0,
    };

    [Fact]
    public async Task A_refused_container_is_dead_in_deliveries_list_and_deliveries_retry_delivers_it_once()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("deadletter");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(171, 10));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var token = HttpApiFixture.NewKey();
        await using var soar = new SoarEmulator(token);
        var refusedSdi = EngineHarness.FolderHash("INBOX") + " : 3";
        soar.Refuse = body => body["source_data_identifier"]?.GetValue<string>() == refusedSdi;
        await soar.StartAsync();
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        env["IMAPACTORS_TEST_SOAR_TOKEN"] = token;
        File.AppendAllText(config, DeliveryProcess.Config(harness.Settings.Assets[0].Name.Value,
            $$"""{{Destination}} { type = soar, url = "{{soar.Url}}", token = ${?IMAPACTORS_TEST_SOAR_TOKEN}, max_attempts = 3 }""",
            $"deliver_to = [{Destination}], soar_asset_id = 8"));

        using var engine = await DeliveryProcess.StartAsync(config, env);
        await DeliveryProcess.WaitForAsync(() => Task.FromResult(soar.ContainerCount == 9), TimeSpan.FromMinutes(2), "9 containers in SOAR");
        await DeliveryProcess.WaitForAsync(async () => await engine.MetricAsync("imapactors_delivery_dead_containers", ("destination", Destination)) == 1,
            TimeSpan.FromMinutes(1), "one dead delivery");

        var (exit, listed, err) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(1), "deliveries", "list", "--config", config, "--state", "dead", "--json");
        Assert.True(exit == 0, err);
        var dead = JsonNode.Parse(Assert.Single(ActionsFixture.Lines(listed)))!.AsObject();
        output.WriteLine(dead.ToJsonString());
        Assert.Equal("dead", dead["state"]!.GetValue<string>());
        Assert.Equal(1, dead["attempts"]!.GetValue<int>());
        Assert.Contains("HTTP 400", dead["last_error"]!.GetValue<string>(), StringComparison.Ordinal);
        output.WriteLine(string.Join("\n", engine.Log.Where(l => l.Contains("dead", StringComparison.Ordinal))));
        Assert.Contains(engine.Log, l => l.Contains("is dead after", StringComparison.Ordinal));

        // The fix on SOAR's side, then the retry: delivered once, nothing else sent again.
        soar.Refuse = null;
        (exit, var retried, err) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(1), "deliveries", "retry", "--config", config,
            dead["id"]!.GetValue<long>().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(exit == 0, err);
        Assert.Contains("is due now", retried, StringComparison.Ordinal);
        await DeliveryProcess.WaitForAsync(() => Task.FromResult(soar.ContainerCount == 10), TimeSpan.FromMinutes(1), "the retried container in SOAR");
        await DeliveryProcess.WaitForAsync(async () => await engine.MetricAsync("imapactors_delivery_backlog_containers", ("destination", Destination)) == 0
            && await engine.MetricAsync("imapactors_delivery_dead_containers", ("destination", Destination)) == 0, TimeSpan.FromMinutes(1), "an empty outbox");
        Assert.Equal(0, engine.Stop());
        Assert.Single(soar.Containers(), c => c.Sdi == refusedSdi);
        Assert.Equal(10, soar.Containers().Select(c => c.Sdi).Distinct().Count());

        (exit, listed, _) = await CliProcess.RunAsync(env, TimeSpan.FromMinutes(1), "deliveries", "list", "--config", config, "--state", "delivered");
        Assert.Equal(0, exit);
        Assert.Contains("10 deliveries", listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Webhook_signatures_verify_retries_keep_their_delivery_id_and_each_id_is_accepted_once()
    {
        const int emails = 60;
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("webhook");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(172, emails));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var secret = HttpApiFixture.NewKey();
        await using var receiver = new WebhookReceiver(secret) { FailureRate = 0.3 };
        await receiver.StartAsync();
        var (config, env) = CliProcess.WriteConfig(harness.Directory, harness.Settings);
        env["IMAPACTORS_TEST_WEBHOOK_SECRET"] = secret;
        File.AppendAllText(config, DeliveryProcess.Config(harness.Settings.Assets[0].Name.Value,
            $$"""siem { type = webhook, url = "{{receiver.Url}}", secret = ${?IMAPACTORS_TEST_WEBHOOK_SECRET}, retry_min = 50ms, retry_max = 500ms }""",
            "deliver_to = [siem]"));

        using (var engine = await DeliveryProcess.StartAsync(config, env))
        {
            await DeliveryProcess.WaitForAsync(() => Task.FromResult(receiver.Accepted.Count == emails), TimeSpan.FromMinutes(2), "every delivery accepted");
            await DeliveryProcess.WaitForAsync(async () => await engine.MetricAsync("imapactors_delivery_backlog_containers", ("destination", "siem")) == 0,
                TimeSpan.FromMinutes(1), "an empty outbox");
            var samples = PrometheusText.Parse(await engine.Http.GetStringAsync("/metrics"), histogramSlack: 64);
            output.WriteLine(string.Join("\n", samples.Where(m => m.Name.StartsWith("imapactors_delivery", StringComparison.Ordinal))
                .Select(m => $"{m.Name} {string.Join(",", m.Labels.Select(l => l.Key + "=" + l.Value))} {m.Value}")));
            Assert.Contains(samples, m => m.Name == "imapactors_delivery_attempts_total" && m.Labels.GetValueOrDefault("outcome") == "failed" && m.Value > 0);
            Assert.Contains(samples, m => m.Name == "imapactors_delivery_failures_total" && m.Labels.GetValueOrDefault("cause") == "http_5xx" && m.Value > 0);
            Assert.Equal(0, engine.Stop());
            Assert.DoesNotContain(engine.Log, l => l.Contains(secret, StringComparison.Ordinal));
        }

        var requests = receiver.Received.ToList();
        output.WriteLine($"{requests.Count} requests, {requests.Count(r => r.Status == 500)} answered 500");
        Assert.All(requests, r => Assert.True(r.Verified, $"signature of {r.DeliveryId}"));
        Assert.All(receiver.Accepted.Values, a => Assert.Equal(1, a.Accepted));
        // A delivery answered 500 came back under the same id, and was then accepted.
        var retried = requests.Where(r => r.Status == 500).Select(r => r.DeliveryId!).Distinct().ToList();
        Assert.NotEmpty(retried);
        Assert.All(retried, id => Assert.True(receiver.Accepted.ContainsKey(id), id));

        await using var store = ContainerStoreFactory.Create(harness.Settings.Storage);
        await store.InitializeAsync(CancellationToken.None);
        var ours = await store.ListContainersAsync(null, CancellationToken.None);
        Assert.Equal(ours.Select(c => c.Id).Order(), receiver.Accepted.Values.Select(a => a.Body["id"]!.GetValue<long>()).Order());
        var withFile = receiver.Accepted.Values.Select(a => a.Body).First(b => b["vault"]!.AsArray().Count > 0);
        var file = withFile["vault"]!.AsArray()[0]!.AsObject();
        Assert.Equal("/api/v1/vault/" + file["vault_id"]!.GetValue<string>(), file["url"]!.GetValue<string>());
        Assert.Equal(withFile["artifact_count"]!.GetValue<int>(), withFile["artifacts"]!.AsArray().Count);
    }
}
