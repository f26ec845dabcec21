using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Allocation;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Allocation;

public sealed class PreferredAllocatorTests
{
    private static List<PluginDevice> Devices(int gpus, PluginOptions? config = null, Action<SimulationScenario>? configure = null) =>
        [.. Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(gpus, configure), config ?? new PluginOptions())).Devices];

    private static int[] Indices(IEnumerable<PluginDevice> devices) => [.. devices.Select(d => d.Gpu.Index)];

    [Fact]
    public void Choose_TwoOfEight_NvLinkedPairOnOneNumaNode()
    {
        var devices = Devices(8);

        var chosen = PreferredAllocator.Choose(devices, [], 2, ReplicaPolicy.Spread);

        Assert.Equal([0, 1], Indices(chosen));
    }

    [Fact]
    public void Choose_FourOfEightWithSomeTaken_StaysInsideOneNvLinkGroup()
    {
        var devices = Devices(8);
        var available = devices.Where(d => d.Gpu.Index is not (0 or 5)).ToList();

        var chosen = PreferredAllocator.Choose(available, [], 3, ReplicaPolicy.Spread);

        Assert.Equal([1, 2, 3], Indices(chosen));
    }

    [Fact]
    public void Choose_MustInclude_GrowsAroundIt()
    {
        var devices = Devices(8);

        var chosen = PreferredAllocator.Choose(devices, [devices[6]], 3, ReplicaPolicy.Spread);

        Assert.Equal(6, chosen[0].Gpu.Index);
        Assert.All(chosen, d => Assert.Equal(1, d.NumaNode));
        Assert.Equal(3, chosen.Select(d => d.Id).Distinct().Count());
    }

    [Fact]
    public void Choose_NoNvLink_PrefersOneNumaNode()
    {
        var devices = Devices(4, configure: s =>
        {
            foreach (var gpu in s.Gpus)
            {
                gpu.NvlinkPeers = [];
            }

            s.Gpus[0].NumaNode = 0;
            s.Gpus[1].NumaNode = 1;
            s.Gpus[2].NumaNode = 0;
            s.Gpus[3].NumaNode = 1;
        });

        var chosen = PreferredAllocator.Choose(devices, [], 2, ReplicaPolicy.Spread);

        Assert.Equal([0, 2], Indices(chosen));
    }

    [Fact]
    public void Choose_SameRequestTwice_SameAnswer()
    {
        var devices = Devices(8);
        var shuffled = devices.OrderBy(d => d.Id.GetHashCode(StringComparison.Ordinal)).ToList();

        var first = PreferredAllocator.Choose(devices, [], 5, ReplicaPolicy.Spread);
        var second = PreferredAllocator.Choose(shuffled, [], 5, ReplicaPolicy.Spread);

        Assert.Equal(first.Select(d => d.Id).Order(), second.Select(d => d.Id).Order());
    }

    [Fact]
    public void Choose_SizeAboveAvailable_ReturnsAllAvailable()
    {
        var devices = Devices(2);

        Assert.Equal(2, PreferredAllocator.Choose(devices, [], 5, ReplicaPolicy.Spread).Count);
    }

    [Fact]
    public void Choose_ReplicasSpread_DifferentPhysicalGpus()
    {
        var devices = Devices(4, new PluginOptions { Replicas = 4 });

        var chosen = PreferredAllocator.Choose(devices, [], 3, ReplicaPolicy.Spread);

        Assert.Equal(3, chosen.Select(d => d.Gpu.Uuid).Distinct().Count());
    }

    [Fact]
    public void Choose_ReplicasSpread_AvoidsTheBusiestGpu()
    {
        var devices = Devices(2, new PluginOptions { Replicas = 4 });
        var available = devices.Where(d => !(d.Gpu.Index == 0 && d.Replica < 3)).ToList();

        var chosen = Assert.Single(PreferredAllocator.Choose(available, [], 1, ReplicaPolicy.Spread));

        Assert.Equal(1, chosen.Gpu.Index);
    }

    [Fact]
    public void Choose_ReplicasPack_SamePhysicalGpuMostLoadedFirst()
    {
        var devices = Devices(2, new PluginOptions { Replicas = 4 });
        var available = devices.Where(d => !(d.Gpu.Index == 1 && d.Replica < 2)).ToList();

        var chosen = PreferredAllocator.Choose(available, [], 2, ReplicaPolicy.Pack);

        Assert.All(chosen, d => Assert.Equal(1, d.Gpu.Index));
    }
}
