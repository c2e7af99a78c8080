using ImapActors.Actors.Delivery;
using ImapActors.Domain;

namespace ImapActors.Actors.Tests;

public sealed class DeliveryBackoffTests
{
    private static readonly RetrySchedule Schedule = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(5, 16)]
    [InlineData(9, 256)]
    [InlineData(10, 300)]
    [InlineData(1000, 300)]
    public void The_delay_doubles_per_attempt_up_to_the_maximum_jittered_into_its_upper_half(int attempts, double fullSeconds)
    {
        Assert.Equal(fullSeconds, DeliveryBackoff.Delay(Schedule, attempts, 1).TotalSeconds, 6);
        Assert.Equal(fullSeconds / 2, DeliveryBackoff.Delay(Schedule, attempts, 0).TotalSeconds, 6);
        Assert.InRange(DeliveryBackoff.Delay(Schedule, attempts, 0.3).TotalSeconds, fullSeconds / 2, fullSeconds);
    }
}
