using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Testing;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Http;

/// <summary>
/// The web console in a real browser (Debian's Chromium, driven by Playwright) against a real engine and the real
/// Dovecot. Screenshots of each page go to artifacts/test-results/console/.
/// </summary>
public sealed class ConsoleTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly string Screenshots = Path.Combine(RepoPaths.Root, "artifacts", "test-results", "console");

    [ChromiumFact]
    public async Task Sign_in_watch_the_committed_count_rise_read_a_container_download_its_file_and_retry_a_quarantined_email()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("console");
        var samples = ActionsFixture.Samples(91, 400).ToList();
        dovecot.LoadMessages(user.Name, "INBOX", samples.Take(100));
        dovecot.MakeUnservable(user.Name, "INBOX", 7);
        using var harness = new EngineHarness(Store.Sqlite,
            [dovecot.Asset(user) with { PollInterval = TimeSpan.FromSeconds(1), MaxEmails = 50 }]);
        await using var api = await HttpApiFixture.StartAsync(harness);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.Browser,
            Headless = true,
            Args = ["--no-sandbox"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = api.Address.ToString(), AcceptDownloads = true });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        Directory.CreateDirectory(Screenshots);
        async Task Shot(string name)
        {
            var path = Path.Combine(Screenshots, name + ".png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
            output.WriteLine($"screenshot: {path}");
        }

        // A wrong key is refused and stays on the sign-in page.
        await page.GotoAsync("/");
        Assert.EndsWith("/sign-in", page.Url, StringComparison.Ordinal);
        await page.FillAsync("#key", HttpApiFixture.NewKey());
        var refused = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#sign-in"), r => r.Url.EndsWith("/sign-in", StringComparison.Ordinal));
        Assert.Equal(401, refused.Status);
        Assert.Equal("That key is not valid.", await page.TextContentAsync("#sign-in-error"));
        await Shot("1-sign-in-refused");

        // The playbook key (read and act) signs in: an HttpOnly, SameSite=Strict session cookie.
        await page.FillAsync("#key", api.ActorKey);
        await page.ClickAsync("#sign-in");
        await ShownAsync(page, "/mailboxes", "#mailbox-rows");
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "imapactors_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(api.ActorKey, await page.ContentAsync(), StringComparison.Ordinal);

        // The committed count rises on the page as it refreshes itself: the first 100 (one of them, unservable, settled
        // in quarantine), then the 300 appended while the page is open.
        var committed = page.Locator("#mailbox-rows tr td.committed");
        await page.EvaluateAsync("() => { window.__notReloaded = true; }");
        await Assertions.Expect(committed).ToHaveTextAsync("100", new() { Timeout = 60_000 });
        await Shot("2-mailboxes-100");
        dovecot.LoadMessages(user.Name, "INBOX", samples.Skip(100));
        var seen = new List<string>();
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline && (seen.Count == 0 || seen[^1] != "400"))
        {
            var text = (await committed.TextContentAsync())!;
            if (seen.Count == 0 || seen[^1] != text)
            {
                seen.Add(text);
            }

            await Task.Delay(200);
        }

        output.WriteLine("committed as the page showed it: " + string.Join(" → ", seen));
        Assert.Equal("400", seen[^1]);
        Assert.True(seen.Count >= 2, "the page showed no count between 100 and 400");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"), "the page reloaded instead of refreshing its rows");
        await Shot("3-mailboxes-400");

        // Containers: search, then a container with an attachment: its artifacts by type, its vault file downloaded.
        var withFile = await FirstContainerWithAFileAsync(api);
        var vaultFile = withFile["vault"]!.AsArray()[0]!;
        await page.GotoAsync("/containers?search=" + Uri.EscapeDataString(withFile["name"]!.GetValue<string>()));
        await Assertions.Expect(page.Locator($"#containers tr[data-id='{withFile["id"]}']")).ToBeVisibleAsync();
        await Shot("4-containers-search");
        await page.ClickAsync($"#containers tr[data-id='{withFile["id"]}'] a >> nth=0");
        await ShownAsync(page, $"/containers/{withFile["id"]}", "#raw-download");
        Assert.Equal(withFile["name"]!.GetValue<string>(), await page.TextContentAsync("#container-name"));
        var types = await page.Locator("section.artifacts").EvaluateAllAsync<string[]>("s => s.map(e => e.dataset.type)");
        var expectedTypes = withFile["artifacts"]!.AsArray().Select(a => a!["name"]!.GetValue<string>()).Distinct().ToArray();
        Assert.Equal(expectedTypes, types);
        Assert.Contains("Email Artifact", types);
        await Shot("5-container");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("a.vault-file >> nth=0"));
        Assert.Equal(vaultFile["file_name"]!.GetValue<string>(), download.SuggestedFilename);
        var saved = Path.Combine(Screenshots, "download-" + download.SuggestedFilename);
        await download.SaveAsAsync(saved);
        Assert.Equal(vaultFile["vault_id"]!.GetValue<string>(), Convert.ToHexStringLower(SHA1.HashData(await File.ReadAllBytesAsync(saved))));
        File.Delete(saved);

        // The raw email is on the page too.
        await page.ClickAsync("details summary");
        Assert.Contains("Subject:", await page.TextContentAsync("#raw-email"), StringComparison.Ordinal);

        // The quarantine: UID 7 is there; a POST without the session's form token is refused; Retry ingests it.
        dovecot.MakeServable(user.Name, "INBOX", 7);
        await page.GotoAsync("/quarantine");
        var row = page.Locator("#quarantine tbody tr");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        var quarantineId = await row.GetAttributeAsync("data-id");
        var forged = await page.APIRequest.PostAsync($"/quarantine/{quarantineId}/retry", new() { Form = context.APIRequest.CreateFormData().Set("_form", "forged") });
        Assert.Equal(403, forged.Status);
        await Shot("6-quarantine");
        // The retry's redirect comes back to /quarantine, the URL the page already has: wait for that navigation itself,
        // or the next click could land while it is still under way.
        await page.RunAndWaitForResponseAsync(() => page.ClickAsync("button.retry"),
            r => r.Request.Method == "GET" && r.Url.EndsWith("/quarantine", StringComparison.Ordinal));
        await ShownAsync(page, "/quarantine", "#notice");
        var notice = await page.TextContentAsync("#notice");
        output.WriteLine(notice);
        Assert.StartsWith($"Quarantined email {quarantineId} ingested: container ", notice, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#quarantine-empty")).ToBeVisibleAsync();
        await Shot("7-quarantine-retried");
        Assert.Equal(400, (await harness.ContainersAsync()).Count);

        // Signing out ends the session: the cookie no longer opens a page.
        await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#sign-out"),
            r => r.Request.Method == "GET" && r.Url.EndsWith("/sign-in", StringComparison.Ordinal));
        await ShownAsync(page, "/sign-in", "#sign-in");
        await page.GotoAsync("/containers");
        Assert.EndsWith("/sign-in", page.Url, StringComparison.Ordinal);
    }

    [ChromiumFact]
    public async Task A_read_key_sees_the_pages_but_no_retry_and_its_forged_retry_is_refused()
    {
        var user = TestServices.Dovecot.CreateUser("consoleread");
        TestServices.Dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(92, 3));
        using var harness = new EngineHarness(Store.Sqlite, [TestServices.Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumFactAttribute.Browser, Headless = true, Args = ["--no-sandbox"] });
        await using var context = await browser.NewContextAsync(new() { BaseURL = api.Address.ToString() });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/sign-in");
        await page.FillAsync("#key", api.ReaderKey);
        await page.ClickAsync("#sign-in");
        await ShownAsync(page, "/mailboxes", "#mailbox-rows");
        await page.GotoAsync("/quarantine");
        Assert.Equal(0, await page.Locator("button.retry").CountAsync());
        var retry = await page.APIRequest.PostAsync("/quarantine/1/retry", new() { Form = context.APIRequest.CreateFormData().Set("_form", "x") });
        Assert.Equal(403, retry.Status);

        // The console's cookie opens no API endpoint: the API takes Bearer keys only.
        var viaCookie = await page.APIRequest.GetAsync("/api/v1/mailboxes");
        Assert.Equal(401, viaCookie.Status);

        // Every page forbids framing and foreign scripts.
        var response = await page.GotoAsync("/containers");
        var headers = await response!.AllHeadersAsync();
        Assert.Contains("frame-ancestors 'none'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.Equal(HttpStatusCode.OK, (HttpStatusCode)response.Status);
    }

    private static async Task<JsonObject> FirstContainerWithAFileAsync(HttpApiFixture api)
    {
        var page = await HttpApiFixture.JsonAsync(await api.Reader.GetAsync("/api/v1/containers?limit=1000"));
        foreach (var row in page["containers"]!.AsArray())
        {
            var container = JsonNode.Parse(await api.Reader.GetStringAsync($"/api/v1/containers/{row!["id"]}"))!.AsObject();
            if (container["vault"]!.AsArray().Count > 0)
            {
                return container;
            }
        }

        throw new InvalidOperationException("no container has a vault file");
    }

    /// <summary>
    /// Waits until the page is at <paramref name="path"/> and shows <paramref name="selector"/>, through Playwright's
    /// retrying assertions. WaitForURL and WaitForLoadState check the page's load states and then wait for the event, two
    /// steps a load event can fall between: a loaded run once timed out on a page that had loaded, seeing only
    /// "NetworkIdle" after it.
    /// </summary>
    private static async Task ShownAsync(IPage page, string path, string selector)
    {
        var wait = (float)TimeSpan.FromSeconds(30).TotalMilliseconds;
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Regex.Escape(path) + "$"), new() { Timeout = wait });
        await Assertions.Expect(page.Locator(selector)).ToBeAttachedAsync(new() { Timeout = wait });
    }
}
