using GpuDaemon.Devices;
using GpuDaemon.Tests.Nvidia.StandIns;

namespace GpuDaemon.Tests.Nvidia.Nvml;

public sealed class NvmlBackendInventoryTests
{
    [Fact]
    public async Task StartAsync_StandInGpus_ListsEveryField()
    {
        using var driver = new StandInDriver("""
            driver = 555.42.06
            nvml = 12.555.42.06
            cuda = 12050
            gpus = 2
            gpu0.name = NVIDIA A100-SXM4-80GB
            gpu0.uuid = GPU-0b1e2c3d-4e5f-6071-8293-a4b5c6d7e8f9
            gpu0.pci = 00000000:07:00.0
            gpu0.minor = 3
            gpu0.memory_total_mib = 81920
            gpu0.compute_capability = 8.0
            gpu1.pci = 00000001:8A:00.0
            """);
        driver.SetNumaNode("0000:07:00.0", "1");
        driver.SetNumaNode("0001:8a:00.0", "-1");
        await using var backend = await driver.StartBackendAsync();

        var inventory = backend.Inventory;

        Assert.Equal(new DriverInfo("555.42.06", "12.5", true) { NvmlVersion = "12.555.42.06" }, inventory.Driver);
        Assert.Equal(2, inventory.Gpus.Count);
        var first = inventory.Gpus[0];
        Assert.Equal(0, first.Index);
        Assert.Equal("GPU-0b1e2c3d-4e5f-6071-8293-a4b5c6d7e8f9", first.Uuid);
        Assert.Equal("NVIDIA A100-SXM4-80GB", first.Model);
        Assert.Equal(81920, first.MemoryMiB);
        Assert.Equal("00000000:07:00.0", first.PciBusId);
        Assert.Equal(3, first.MinorNumber);
        Assert.Equal("/dev/nvidia3", first.DeviceNode);
        Assert.Equal(1, first.NumaNode);
        Assert.Empty(first.NvLinkPeers);
        Assert.Equal(new MigState(true, false, []), first.Mig);
        Assert.Equal("00000001:8a:00.0", inventory.Gpus[1].PciBusId);
        Assert.Null(inventory.Gpus[1].NumaNode);
        Assert.Equal(new ComputeCapability(8, 0), first.ComputeCapability);
        Assert.Equal(new ComputeCapability(9, 0), inventory.Gpus[1].ComputeCapability); // the stand-in's default
        Assert.Equal("nvml", backend.Name);
        Assert.Equal(driver.NvmlLibrary, backend.LibraryPath);
    }

    [Theory]
    [InlineData("1, 1", "0, 0")] // a direct link each way
    [InlineData("switch, switch", "switch")] // both on the same NVSwitch
    public async Task StartAsync_NvLinks_MakesLinkedGpusPeersAndLeavesOthersOut(string firstLinks, string secondLinks)
    {
        using var driver = new StandInDriver($"""
            gpus = 3
            gpu0.nvlink = {firstLinks}
            gpu1.nvlink = {secondLinks}
            """);
        await using var backend = await driver.StartBackendAsync();

        var gpus = backend.Inventory.Gpus;

        Assert.Equal([gpus[1].Uuid], gpus[0].NvLinkPeers);
        Assert.Equal([gpus[0].Uuid], gpus[1].NvLinkPeers);
        Assert.Empty(gpus[2].NvLinkPeers);
    }

    [Fact]
    public async Task StartAsync_MigEnabled_ListsInstancesWithProfilesAndIds()
    {
        using var driver = new StandInDriver("""
            gpus = 2
            gpu0.mig = on
            gpu0.mig_instances = 1g.10gb:9856, 3g.40gb:40192
            gpu1.mig = unsupported
            """);
        await using var backend = await driver.StartBackendAsync();

        var mig = backend.Inventory.Gpus[0].Mig;

        Assert.True(mig.Capable);
        Assert.True(mig.Enabled);
        Assert.Equal(
            [
                new MigInstance("MIG-5eed0000-0000-4000-8000-000000000001", "1g.10gb", 9856, 1, 0),
                new MigInstance("MIG-5eed0000-0000-4000-8000-000000000002", "3g.40gb", 40192, 2, 0),
            ],
            mig.Instances);
        Assert.Equal(MigState.NotCapable, backend.Inventory.Gpus[1].Mig);
    }

    [Fact]
    public async Task StartAsync_OneGpuFailsToAnswer_LeavesOnlyThatGpuOut()
    {
        using var driver = new StandInDriver("""
            gpus = 3
            gpu1.fail.nvmlDeviceGetUUID = 999
            """);
        await using var backend = await driver.StartBackendAsync();

        Assert.Equal([0, 2], backend.Inventory.Gpus.Select(g => g.Index));
    }

    [Fact]
    public async Task StartAsync_MemoryV2NotSupported_FallsBackToFirstGetter()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            gpu0.memory_total_mib = 40960
            fail.nvmlDeviceGetMemoryInfo_v2 = 3
            """);
        await using var backend = await driver.StartBackendAsync();

        Assert.Equal(40960, backend.Inventory.Gpus[0].MemoryMiB);
    }

    [Fact]
    public async Task WatchInventoryAsync_Started_YieldsCurrentInventoryFirst()
    {
        using var driver = new StandInDriver("gpus = 2");
        await using var backend = await driver.StartBackendAsync();

        var inventory = await backend.WatchInventoryAsync(CancellationToken.None).FirstAsync();

        Assert.Same(backend.Inventory, inventory);
    }

    [Fact]
    public async Task DisposeAsync_AfterStart_ShutsNvmlDown()
    {
        using var driver = new StandInDriver("gpus = 1");
        var backend = await driver.StartBackendAsync();
        Assert.Equal(1, driver.Control.InitCount);

        await backend.DisposeAsync();
        await backend.DisposeAsync();

        Assert.Equal(0, driver.Control.InitCount);
    }
}
