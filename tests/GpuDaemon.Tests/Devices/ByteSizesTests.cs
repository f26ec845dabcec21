using GpuDaemon.Devices;

namespace GpuDaemon.Tests.Devices;

public sealed class ByteSizesTests
{
    [Theory]
    [InlineData(4L * 1024 * 1024, "4 MiB")]
    [InlineData(256L * 1024, "256 KiB")]
    [InlineData(1500, "1500 bytes")]
    [InlineData(0, "0 bytes")]
    public void Format_Size_LargestExactUnit(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSizes.Format(bytes));
    }
}
