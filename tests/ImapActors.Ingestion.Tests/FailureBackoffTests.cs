using ImapActors.Ingestion.Backoff;

namespace ImapActors.Ingestion.Tests;

/// <summary>The rules of a mailbox's backoff after failures, one test per rule.</summary>
public class FailureBackoffTests
{
    private static readonly BackoffSchedule Transient = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));
    private static readonly BackoffSchedule Refused = new(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(30));

    private static FailureBackoff Fresh => FailureBackoff.Start(Transient, Refused);

    private static List<TimeSpan> Delays(FailureBackoff backoff, FailureKind kind, int failures, double random = 0)
    {
        var delays = new List<TimeSpan>();
        for (var i = 0; i < failures; i++)
        {
            var step = backoff.Failed(kind, random);
            backoff = step.Backoff;
            delays.Add(step.Delay);
        }

        return delays;
    }

    [Fact]
    public void Failures_in_a_row_double_the_delay_of_their_schedule_up_to_its_maximum()
    {
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300], Delays(Fresh, FailureKind.Transient, 11).Select(d => d.TotalSeconds));
        Assert.Equal([30, 60, 120, 240, 480, 960, 1800, 1800], Delays(Fresh, FailureKind.Refused, 8).Select(d => d.TotalSeconds));
    }

    [Fact]
    public void Jitter_only_takes_off_so_no_delay_passes_the_maximum_and_none_falls_below_four_fifths()
    {
        var low = Delays(Fresh, FailureKind.Refused, 10, random: 0.999_999);
        var high = Delays(Fresh, FailureKind.Refused, 10, random: 0);
        Assert.All(low.Zip(high), p => Assert.InRange(p.First, p.Second * (1 - FailureBackoff.Jitter), p.Second));
        Assert.True(low[0] < high[0], "the random part changes the delay");
        Assert.Equal(TimeSpan.FromMinutes(30), high.Max());
    }

    [Fact]
    public void A_successful_poll_starts_both_schedules_over()
    {
        var backoff = Fresh;
        foreach (var kind in new[] { FailureKind.Transient, FailureKind.Transient, FailureKind.Refused, FailureKind.Refused })
        {
            backoff = backoff.Failed(kind, 0).Backoff;
        }

        Assert.Equal(4, backoff.FailuresInARow);
        backoff = backoff.Succeeded();
        Assert.Equal(0, backoff.FailuresInARow);
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Failed(FailureKind.Transient, 0).Delay);
        Assert.Equal(TimeSpan.FromSeconds(30), backoff.Failed(FailureKind.Refused, 0).Delay);
    }

    [Fact]
    public void Each_kind_counts_its_own_failures_and_both_count_in_a_row()
    {
        var step = Fresh.Failed(FailureKind.Transient, 0).Backoff.Failed(FailureKind.Transient, 0).Backoff.Failed(FailureKind.Refused, 0);
        Assert.Equal(TimeSpan.FromSeconds(30), step.Delay);
        Assert.Equal(3, step.FailuresInARow);
        Assert.Equal(TimeSpan.FromSeconds(4), step.Backoff.Failed(FailureKind.Transient, 0).Delay);
    }

    [Fact]
    public void A_wrong_password_is_tried_at_most_four_times_in_five_minutes_with_the_default_schedule()
    {
        // Attempts at 0 and after each delay, the shortest the jitter allows, each refusal itself taking no time.
        var at = TimeSpan.Zero;
        var attempts = 1;
        var backoff = Fresh;
        while (true)
        {
            var step = backoff.Failed(FailureKind.Refused, 0.999_999);
            backoff = step.Backoff;
            at += step.Delay;
            if (at > TimeSpan.FromMinutes(5))
            {
                break;
            }

            attempts++;
        }

        Assert.Equal(4, attempts);
    }

    [Fact]
    public void A_huge_number_of_failures_stays_at_the_maximum()
    {
        var backoff = Fresh with { TransientFailures = 10_000 };
        Assert.Equal(TimeSpan.FromMinutes(5), backoff.Failed(FailureKind.Transient, 0).Delay);
    }
}
