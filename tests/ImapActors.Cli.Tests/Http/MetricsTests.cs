using System.Net;
using ImapActors.Cli.Tests.Actions;
using ImapActors.Cli.Tests.Integration;
using ImapActors.Domain;
using ImapActors.Testing;
using Xunit.Abstractions;

namespace ImapActors.Cli.Tests.Http;

/// <summary><c>/metrics</c> of a running engine, scraped through HTTP and read by a strict parser of the text format.</summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Scrapes_during_an_ingest_of_1000_emails_see_the_created_counter_reach_1000_and_the_lag_fall_to_0()
    {
        var dovecot = TestServices.Dovecot;
        var user = dovecot.CreateUser("metrics");
        dovecot.LoadMessages(user.Name, "INBOX", ActionsFixture.Samples(81, 1000));
        using var harness = new EngineHarness(Store.Sqlite, [dovecot.Asset(user) with { FirstRunMaxEmails = 1000, MaxEmails = 200 }]);
        await using var api = await HttpApiFixture.StartAsync(harness);
        var asset = harness.Settings.Assets[0].Name.Value;

        var scrapes = 0;
        var createdSeen = new List<double>();
        IReadOnlyList<PrometheusSample> last = [];
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        double Of(string name, params (string Label, string Value)[] labels) =>
            last.Where(s => s.Name == name && s.Labels.GetValueOrDefault("asset") == asset && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value))
                .Select(s => s.Value).DefaultIfEmpty(double.NaN).Single();
        while (DateTime.UtcNow < deadline)
        {
            var response = await api.Anonymous.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
            // Scraped while the pools record: a histogram's count may trail its buckets by the observations in between.
            last = PrometheusText.Parse(await response.Content.ReadAsStringAsync(), histogramSlack: 64);
            scrapes++;
            var created = Of("imapactors_emails_total", ("outcome", "created"));
            createdSeen.Add(double.IsNaN(created) ? 0 : created);
            if (created == 1000 && Of("imapactors_mailbox_lag_emails") == 0)
            {
                break;
            }

            await Task.Delay(100);
        }

        output.WriteLine($"{scrapes} scrapes; created seen: {string.Join(" ", createdSeen.Distinct())}");
        // At rest (every email settled, nothing recording), each histogram's count is its +Inf bucket exactly.
        await Task.Delay(500);
        PrometheusText.Parse(await api.Anonymous.GetStringAsync("/metrics"));
        var families = last.Select(s => s.Name).ToHashSet();
        foreach (var runtime in new[] { "process_cpu_seconds_total", "process_working_set_bytes", "dotnet_total_memory_bytes", "system_runtime_dotnet_gc_collections" })
            Assert.Contains(runtime, families);
        Assert.Equal(1000, Of("imapactors_emails_total", ("outcome", "created")));
        Assert.Equal(0, Of("imapactors_mailbox_lag_emails"));
        Assert.Equal(1000, Of("imapactors_mailbox_committed_uids"));
        Assert.Equal(1000, Of("imapactors_fetched_emails_total"));
        Assert.True(Of("imapactors_fetched_bytes_total") > 1000 * 1000, "bytes fetched");
        Assert.Equal(0, Of("imapactors_mailbox_stale"));
        Assert.Equal(1, Of("imapactors_mailbox_state", ("state", "polling")));
        Assert.Equal(createdSeen.Order(), createdSeen);

        // Node-wide: the gate, the stage timings (at least this test's 1,000 emails), connections, the process.
        Assert.Contains(last, s => s.Name == "imapactors_admission_emails_in_flight");
        Assert.Contains(last, s => s.Name == "imapactors_admission_max_emails" && s.Value == harness.Settings.Admission.MaxEmails);
        foreach (var stage in new[] { "parse", "extract" })
        {
            Assert.True(last.Single(s => s.Name == $"imapactors_{stage}_duration_seconds_count").Value >= 1000, stage);
        }

        Assert.Contains(last, s => s.Name == "imapactors_fetch_duration_seconds_count" && s.Value >= 5);
        Assert.Contains(last, s => s.Name == "imapactors_commit_duration_seconds_count" && s.Value >= 1);
        Assert.Contains(last, s => s.Name == "imapactors_imap_connections_open" && s.Labels.GetValueOrDefault("asset") == asset);
        Assert.Contains(last, s => s.Name == "process_cpu_seconds_total");
    }

    [Fact]
    public async Task With_metrics_require_key_a_scrape_needs_a_read_key()
    {
        var user = TestServices.Dovecot.CreateUser("metricskey");
        using var harness = new EngineHarness(Store.Sqlite, [TestServices.Dovecot.Asset(user)]);
        await using var api = await HttpApiFixture.StartAsync(harness, configure: s => s with { Http = s.Http with { MetricsRequireKey = true } });
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.GetAsync("/metrics")).StatusCode);
        var scrape = await api.Reader.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.NotEmpty(PrometheusText.Parse(await scrape.Content.ReadAsStringAsync()));
    }

    [Theory]
    [InlineData("a 1")]
    [InlineData("# TYPE a counter\na{b=\"c} 1\n")]
    [InlineData("# TYPE a counter\na{b=\"\\x\"} 1\n")]
    [InlineData("# TYPE a counter\na one\n")]
    [InlineData("# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n")]
    [InlineData("# TYPE 1a counter\n")]
    public void The_parser_refuses_what_the_format_does_not_allow(string text) =>
        Assert.Throws<FormatException>(() => PrometheusText.Parse(text));

    [Fact]
    public void The_parser_reads_labels_escapes_and_histograms()
    {
        var samples = PrometheusText.Parse("# HELP a x\n# TYPE a counter\na{b=\"q\\\"\\\\\\n\",c=\"\"} 1.5e3\n# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n");
        Assert.Equal("q\"\\\n", samples[0].Labels["b"]);
        Assert.Equal(1500, samples[0].Value);
        Assert.Equal(5, samples.Count);
    }
}
