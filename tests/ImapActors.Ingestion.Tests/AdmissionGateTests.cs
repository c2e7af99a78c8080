using ImapActors.Ingestion.Admission;

namespace ImapActors.Ingestion.Tests;

/// <summary>The admission gate's rules, one test per rule, with strings standing for mailboxes.</summary>
public class AdmissionGateTests
{
    private AdmissionGate<string> _gate = AdmissionGate.Open<string>(new AdmissionLimits(MaxEmails: 10, MaxBytes: 1000));

    private IReadOnlyList<AdmissionGrant<string>> Do(Func<AdmissionGate<string>, AdmissionStep<string>> handle)
    {
        var step = handle(_gate);
        _gate = step.Gate;
        return step.Grants;
    }

    private static long[] Sizes(int emails, long size) => [.. Enumerable.Repeat(size, emails)];

    /// <summary>Gets <paramref name="emails"/> of <paramref name="size"/> bytes each granted to <paramref name="holder"/>, and fetches them.</summary>
    private void Fetch(string holder, int emails, long size)
    {
        Assert.Equal(emails, Assert.Single(Do(g => g.Request(holder, Sizes(emails, size)))).Emails);
        Do(g => g.Charge(holder, emails * size));
    }

    [Fact]
    public void A_request_within_both_limits_is_granted_at_once_and_its_bytes_set_aside()
    {
        var grant = Assert.Single(Do(g => g.Request("a", Sizes(4, 100))));
        Assert.Equal(new AdmissionGrant<string>("a", 4), grant);
        Assert.Equal((4, 0L, 400L), (_gate.Stats.Emails, _gate.Stats.Bytes, _gate.Stats.Reserved));
        Do(g => g.Charge("a", 400));
        Assert.Equal((4, 400L, 0L), (_gate.Stats.Emails, _gate.Stats.Bytes, _gate.Stats.Reserved));
    }

    [Fact]
    public void A_request_past_max_emails_waits_until_emails_are_given_back()
    {
        Fetch("a", 8, 10);
        Assert.Empty(Do(g => g.Request("b", Sizes(4, 10))));
        Assert.Empty(Do(g => g.Release("a", 1, 10)));
        Assert.Equal(new AdmissionGrant<string>("b", 4), Assert.Single(Do(g => g.Release("a", 1, 10))));
        Assert.Equal(10, _gate.Stats.PeakEmails);
    }

    [Fact]
    public void Requests_are_served_in_order_and_a_small_one_does_not_overtake_the_head()
    {
        Fetch("a", 8, 10);
        Do(g => g.Request("b", Sizes(5, 10)));
        Assert.Empty(Do(g => g.Request("c", Sizes(1, 10))));
        var grants = Do(g => g.Release("a", 8, 80));
        Assert.Equal(["b", "c"], grants.Select(x => x.Holder));
        Assert.Equal(2, _gate.Stats.Waits);
    }

    [Fact]
    public void A_mailbox_asking_again_queues_behind_one_already_waiting()
    {
        Fetch("a", 5, 10);
        Fetch("a", 5, 10);
        Assert.Empty(Do(g => g.Request("b", Sizes(5, 10))));
        Assert.Empty(Do(g => g.Request("a", Sizes(5, 10))));
        Assert.Equal("b", Assert.Single(Do(g => g.Release("a", 5, 50))).Holder);
        Assert.Equal("a", Assert.Single(Do(g => g.Release("a", 5, 50))).Holder);
    }

    [Fact]
    public void No_grant_is_given_while_the_bytes_in_flight_leave_no_room_for_the_first_email()
    {
        Fetch("a", 2, 450);
        Assert.Empty(Do(g => g.Request("b", [200])));
        Assert.Equal("b", Assert.Single(Do(g => g.Release("a", 1, 450))).Holder);
    }

    [Fact]
    public void A_grant_is_cut_to_the_first_emails_whose_sizes_fit()
    {
        Fetch("a", 2, 300);
        Assert.Equal(2, Assert.Single(Do(g => g.Request("b", [100, 250, 100, 5]))).Emails);
        Assert.Equal(350, _gate.Stats.Reserved);
    }

    [Fact]
    public void Bytes_granted_but_not_fetched_yet_count_against_the_limit()
    {
        Assert.Single(Do(g => g.Request("a", Sizes(3, 300))));
        Assert.Empty(Do(g => g.Request("b", [200])));

        // One of the three was expunged before the fetch: the charge frees what it did not bring.
        Assert.Equal("b", Assert.Single(Do(g => g.Charge("a", 600))).Holder);
    }

    [Fact]
    public void Whatever_the_sizes_and_the_order_of_answers_the_bytes_in_flight_never_exceed_the_limit()
    {
        // Heavy-tailed sizes (mostly small, rarely 20 times larger) and fetches answered out of order.
        _gate = AdmissionGate.Open<string>(new AdmissionLimits(MaxEmails: 500, MaxBytes: 10_000));
        var random = new Random(11);
        var holders = Enumerable.Range(0, 8).Select(i => "m" + i).ToArray();
        var asked = new Dictionary<string, long[]>();
        var fetching = new List<AdmissionGrant<string>>();
        var held = holders.ToDictionary(h => h, _ => new Queue<(int Emails, long Bytes)>());
        for (var round = 0; round < 20_000; round++)
        {
            var h = holders[random.Next(holders.Length)];
            var roll = random.Next(3);
            if (roll == 0 && !_gate.HoldingOf(h).IsWaiting && _gate.HoldingOf(h).Pending == 0)
            {
                asked[h] = [.. Enumerable.Range(0, 1 + random.Next(5)).Select(_ => random.Next(300) == 0 ? 2_000L : 100L + random.Next(50))];
                fetching.AddRange(Do(g => g.Request(h, asked[h])));
            }
            else if (roll == 1 && fetching.Count > 0)
            {
                var grant = fetching[random.Next(fetching.Count)];
                fetching.Remove(grant);

                // Now and then an email was expunged in between, and brings nothing.
                var sizes = asked[grant.Holder].Take(grant.Emails).Select(s => random.Next(50) == 0 ? 0 : s).ToList();
                fetching.AddRange(Do(g => g.Charge(grant.Holder, sizes.Sum())));
                held[grant.Holder].Enqueue((grant.Emails, sizes.Sum()));
            }
            else if (held[h].Count > 0)
            {
                var (emails, bytes) = held[h].Dequeue();
                fetching.AddRange(Do(g => g.Release(h, emails, bytes)));
            }

            var stats = _gate.Stats;
            Assert.True(stats.Bytes + stats.Reserved <= stats.MaxBytes, $"{stats.Bytes} + {stats.Reserved} bytes in flight at round {round}");
            Assert.True(stats.Emails <= stats.MaxEmails);
        }

        Assert.True(_gate.Stats.PeakBytes > 9_000, $"the limit was reached ({_gate.Stats.PeakBytes})");
        Assert.True(_gate.Stats.Waits > 0, $"mailboxes waited ({_gate.Stats.Waits})");
    }

    [Fact]
    public void An_email_larger_than_the_whole_limit_is_admitted_alone()
    {
        Fetch("a", 1, 100);
        Assert.Empty(Do(g => g.Request("b", [5000, 100])));
        var grant = Assert.Single(Do(g => g.Release("a", 1, 100)));
        Assert.Equal(new AdmissionGrant<string>("b", 1), grant);
        Assert.Empty(Do(g => g.Request("c", [1])));
        Do(g => g.Charge("b", 5000));
        Assert.Equal("c", Assert.Single(Do(g => g.Release("b", 1, 5000))).Holder);
    }

    [Fact]
    public void A_cancelled_request_or_unfetched_grant_gives_its_credit_back()
    {
        Fetch("a", 9, 10);
        Do(g => g.Request("b", Sizes(5, 10)));
        Do(g => g.Cancel("b"));
        Assert.Equal(0, _gate.Stats.Waiting);
        Do(g => g.Release("a", 9, 90));

        Assert.Single(Do(g => g.Request("c", Sizes(10, 10))));
        Do(g => g.Cancel("c"));
        Assert.Equal((0, 0L, 0L), (_gate.Stats.Emails, _gate.Stats.Bytes, _gate.Stats.Reserved));
    }

    [Fact]
    public void A_holder_that_is_gone_gives_back_everything_and_the_next_is_served()
    {
        Fetch("a", 10, 10);
        Do(g => g.Request("b", Sizes(5, 10)));
        Assert.Equal("b", Assert.Single(Do(g => g.Remove("a"))).Holder);
        Assert.Equal((5, 0L, 50L), (_gate.Stats.Emails, _gate.Stats.Bytes, _gate.Stats.Reserved));
    }

    [Fact]
    public void Credit_given_back_never_goes_below_what_the_holder_has()
    {
        Fetch("a", 2, 10);
        Do(g => g.Release("a", 5, 500));
        Assert.Equal((0, 0L), (_gate.Stats.Emails, _gate.Stats.Bytes));
        Assert.True(_gate.HoldingOf("a").IsEmpty);
    }
}
