using GpuDaemon.Devices;

namespace GpuDaemon.Tests.Devices;

public sealed class DurationsTests
{
    [Theory]
    [InlineData(1, 30, 2)]
    [InlineData(16, 30, 30)]
    [InlineData(15, 30, 30)]
    [InlineData(30, 30, 30)]
    public void DoubledUpTo_Delay_TwiceOrTheCap(int seconds, int maxSeconds, int expectedSeconds) =>
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), Durations.DoubledUpTo(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(maxSeconds)));

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(90, "90s")]
    [InlineData(120, "2m")]
    [InlineData(7200, "2h")]
    public void Format_Seconds_LargestExactUnit(int seconds, string expected) =>
        Assert.Equal(expected, Durations.Format(TimeSpan.FromSeconds(seconds)));
}
