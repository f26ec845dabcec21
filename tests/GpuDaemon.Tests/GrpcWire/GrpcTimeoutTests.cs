using GpuDaemon.GrpcWire.Internal;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 3600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("3S", 3000)]
    [InlineData("250m", 250)]
    [InlineData("1500u", 1.5)]
    [InlineData("2000000n", 2)]
    [InlineData("99999999m", 99999999)]
    public void TryParse_ValidHeader_ReturnsDuration(string header, double expectedMilliseconds)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedMilliseconds, timeout.TotalMilliseconds, precision: 3);
    }

    [Theory]
    [InlineData("99999999n")]
    [InlineData("99999999u")]
    [InlineData("99999999m")]
    [InlineData("99999999S")]
    [InlineData("99999999M")]
    [InlineData("99999999H")]
    public void TryParse_LargestValueInEveryUnit_PositiveAndNoOverflow(string header)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.True(timeout > TimeSpan.Zero);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("123456789S")]
    [InlineData("-5S")]
    [InlineData("1.5S")]
    public void TryParse_MalformedHeader_ReturnsFalse(string header)
    {
        Assert.False(GrpcTimeout.TryParse(header, out _));
    }

    [Theory]
    [InlineData(300)]
    [InlineData(10_000)]
    [InlineData(86_400_000)]
    public void Format_Duration_ParsesBackToAtLeastTheDuration(int milliseconds)
    {
        var formatted = GrpcTimeout.Format(TimeSpan.FromMilliseconds(milliseconds));

        Assert.InRange(formatted.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(formatted, out var parsed));
        Assert.True(parsed >= TimeSpan.FromMilliseconds(milliseconds));
    }
}
