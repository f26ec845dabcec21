using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin;

public sealed class AdvertisedDeviceSetTests
{
    [Theory]
    [InlineData("GPU-1::0", "GPU-1")]
    [InlineData("GPU-1::17", "GPU-1")]
    [InlineData("MIG-ab::3", "MIG-ab")]
    [InlineData("0:1::2", "0:1")]
    [InlineData("3", "3")]
    [InlineData("0:1", "0:1")]
    [InlineData("GPU-1::", "GPU-1::")]
    [InlineData("GPU-1::x", "GPU-1::x")]
    [InlineData("::3", "::3")]
    [InlineData("", "")]
    public void StripReplica_Id_SuffixRemovedOnlyWhenNumeric(string id, string expected)
    {
        Assert.Equal(expected, AdvertisedDeviceSet.StripReplica(id));
    }

    [Fact]
    public void TryResolve_ReplicasOfAnotherResource_OnlyOwnResourceResolves()
    {
        var set = new AdvertisedDeviceSet(ResourcePlanner.Plan(Gpus.Inventory(2), new PluginOptions { Replicas = 2, RenameShared = true }));

        Assert.Equal(["nvidia.com/gpu.shared"], set.ResourceNames);
        Assert.True(set.TryResolve("nvidia.com/gpu.shared", DefaultScenario.UuidFor(1) + "::1", out var uuid));
        Assert.Equal(DefaultScenario.UuidFor(1), uuid);
        Assert.False(set.TryResolve("nvidia.com/gpu", DefaultScenario.UuidFor(1) + "::1", out _));
        Assert.False(set.TryResolve("nvidia.com/gpu.shared", "GPU-unknown::0", out _));
    }

    [Fact]
    public async Task Current_RunningManager_ResolvesWhatItAdvertisesAndSignalsAllocate()
    {
        await using var harness = await PluginHarness.StartAsync(SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger), new PluginOptions { DeviceIdStrategy = DeviceIdStrategy.Index });
        var plugin = await harness.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2);
        var advertised = harness.Manager;
        var before = harness.Manager.Activity.Allocated.Version;

        await plugin.AllocateAsync(["1"]);

        Assert.Equal(["nvidia.com/gpu"], advertised.Current.ResourceNames);
        Assert.True(advertised.Current.TryResolve("nvidia.com/gpu", "1", out var uuid));
        Assert.Equal(DefaultScenario.UuidFor(1), uuid);
        Assert.True(harness.Manager.Activity.Allocated.Version > before);
    }
}
