using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

public sealed class ValidationOptionsTests
{
    [Fact]
    public void Defaults_Roots_AreTheSharedHostRootOfEveryCommand()
    {
        var options = new ValidationOptions();

        Assert.Equal(HostRoots.Default, options.DriverRoot);
        Assert.Equal(HostRoots.Default, options.DevRoot);
        Assert.Equal(HostRoots.Default, options.HostRoot);
        Assert.Equal(new PluginOptions().DevRoot, options.DevRoot);
    }
}
