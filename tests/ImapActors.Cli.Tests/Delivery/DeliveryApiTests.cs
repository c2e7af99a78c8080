using System.Net;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Http;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Delivery;

/// <summary><c>GET /api/v1/deliveries</c> and <c>POST /api/v1/deliveries/{id}/retry</c> on an engine delivering to the SOAR emulator.</summary>
public sealed class DeliveryApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_api_lists_deliveries_by_state_and_a_retry_of_a_dead_one_delivers_it_once()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("deliveryapi");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(173, 3));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var token = HttpApiFixture.NewKey();
        await using var soar = new SoarEmulator(token);
        var refused = EngineHarness.FolderHash("INBOX") + " : 2";
        soar.Refuse = body => body["source_data_identifier"]?.GetValue<string>() == refused;
        await soar.StartAsync();
        await using var api = await HttpApiFixture.StartAsync(harness, configure: s => s with
        {
            Destinations = [new DestinationSettings { Name = "soar", Type = DestinationType.Soar, Url = new Uri(soar.Url), Token = new Secret(token) }],
            Assets = [s.Assets[0] with { DeliverTo = ["soar"], SoarAssetId = 4 }],
        });

        await DeliveryProcess.WaitForAsync(async () =>
            (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=dead")))["deliveries"]!.AsArray().Count == 1
            && soar.ContainerCount == 2, TimeSpan.FromMinutes(1), "two delivered and one dead");
        var all = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries"));
        output.WriteLine(all.ToJsonString());
        Assert.Equal(["delivered", "dead", "delivered"], all["deliveries"]!.AsArray().Select(d => d!["state"]!.GetValue<string>()));
        Assert.Null(all["next_after_id"]);
        var page = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?limit=2"));
        Assert.Equal(2, page["deliveries"]!.AsArray().Count);
        Assert.Equal(page["deliveries"]!.AsArray()[1]!["id"]!.GetValue<long>(), page["next_after_id"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Reader.GetAsync("/api/v1/deliveries?state=lost")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.Reader.GetAsync("/api/v1/deliveries?limit=0")).StatusCode);

        var dead = all["deliveries"]!.AsArray()[1]!;
        var id = dead["id"]!.GetValue<long>();
        Assert.Contains("Label matching query does not exist", dead["last_error"]!.GetValue<string>(), StringComparison.Ordinal);
        var ready = await HttpApiFixture.JsonAsync(await api.Anonymous.GetAsync("/api/v1/ready"));
        output.WriteLine(ready.ToJsonString());
        Assert.Contains(ready["checks"]!.AsArray(), c => c!["name"]!.GetValue<string>() == "deliveries" && c["status"]!.GetValue<string>() == "warn");

        soar.Refuse = null;
        var retried = await HttpApiFixture.JsonAsync(await api.Actor.PostAsync($"/api/v1/deliveries/{id}/retry", null));
        Assert.Equal("success", retried["status"]!.GetValue<string>());
        await DeliveryProcess.WaitForAsync(() => Task.FromResult(soar.ContainerCount == 3), TimeSpan.FromMinutes(1), "the retried one delivered");
        await DeliveryProcess.WaitForAsync(async () =>
            (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=delivered")))["deliveries"]!.AsArray().Count == 3,
            TimeSpan.FromSeconds(30), "recorded as delivered");
        Assert.Equal(HttpStatusCode.Conflict, (await api.Actor.PostAsync($"/api/v1/deliveries/{id}/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Actor.PostAsync("/api/v1/deliveries/999/retry", null)).StatusCode);
        Assert.Single(soar.Containers(), c => c.Sdi == refused);
    }

    [Fact]
    public async Task A_revoked_token_keeps_deliveries_waiting_until_it_is_fixed_and_a_soar_container_of_another_email_is_a_conflict()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("deliveryauth");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(175, 3));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user)]);
        var token = HttpApiFixture.NewKey();
        await using var soar = new SoarEmulator(token);
        var taken = EngineHarness.FolderHash("INBOX") + " : 1";
        soar.AddForeignContainer(5, taken);
        await soar.StartAsync();
        var tokenFile = Path.Combine(harness.Directory, "soar.token");
        File.WriteAllText(tokenFile, "revoked-" + token + "\n");
        await using var api = await HttpApiFixture.StartAsync(harness, configure: s => s with
        {
            Destinations = [new DestinationSettings
            {
                Name = "soar", Type = DestinationType.Soar, Url = new Uri(soar.Url), Token = new Secret("unused") { File = tokenFile },
                Retry = new RetrySchedule(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500)), MaxAttempts = 2,
            }],
            Assets = [s.Assets[0] with { DeliverTo = ["soar"], SoarAssetId = 5 }],
        });

        // Refused for its token: every delivery waits, none dies, however often it is tried (max_attempts is 2 here).
        await DeliveryProcess.WaitForAsync(async () =>
            (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=failed")))["deliveries"]!.AsArray().Count == 3,
            TimeSpan.FromMinutes(1), "three failing deliveries");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var waiting = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries"));
        output.WriteLine(waiting.ToJsonString());
        Assert.All(waiting["deliveries"]!.AsArray(), d => Assert.Equal("failed", d!["state"]!.GetValue<string>()));
        Assert.All(waiting["deliveries"]!.AsArray(), d => Assert.Contains("HTTP 401", d!["last_error"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal(1, soar.ContainerCount);

        // The token file rotated: the next probe gets through. UID 1's identifier is held by a container made elsewhere.
        File.WriteAllText(tokenFile, token + "\n");
        await DeliveryProcess.WaitForAsync(async () =>
            (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=delivered")))["deliveries"]!.AsArray().Count == 2
            && (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=dead")))["deliveries"]!.AsArray().Count == 1,
            TimeSpan.FromMinutes(1), "two delivered, the conflict dead");
        var dead = (await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/deliveries?state=dead")))["deliveries"]!.AsArray()[0]!;
        output.WriteLine(dead.ToJsonString());
        Assert.Contains("holds an email this engine did not send", dead["last_error"]!.GetValue<string>(), StringComparison.Ordinal);
        var foreign = Assert.Single(soar.Containers(), c => c.Sdi == taken);
        Assert.Empty(foreign.Artifacts);
        Assert.Empty(foreign.Attachments);
        Assert.Equal(3, soar.ContainerCount);
    }
}
