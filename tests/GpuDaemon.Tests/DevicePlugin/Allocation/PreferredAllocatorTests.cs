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

    /// <summary>
    /// `--simulate 64 --replicas 64`: 4,096 devices, half of them asked for. This took seconds and grew worse
    /// than quadratically; now it is one step per device picked (a few milliseconds, see docs/reliability.md).
    /// The 10 s is a hang guard, not a latency assertion: the step count is the measure.
    /// </summary>
    [Theory]
    [InlineData(ReplicaPolicy.Spread)]
    [InlineData(ReplicaPolicy.Pack)]
    public async Task Choose_4096ReplicasSize2048_OneStepPerDevicePicked(ReplicaPolicy policy)
    {
        var devices = Devices(64, new PluginOptions { Replicas = 64 });
        var steps = 0;

        var chosen = await Task.Run(() => PreferredAllocator.Choose(devices, [], 2048, policy, () => steps++)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2048, chosen.Select(d => d.Id).Distinct().Count());
        Assert.Equal(2048, steps);
        var perGpu = chosen.GroupBy(d => d.Gpu.Uuid).Select(g => g.Count()).ToList();
        if (policy == ReplicaPolicy.Spread)
        {
            Assert.All(perGpu, count => Assert.Equal(32, count));
        }
        else
        {
            Assert.All(perGpu, count => Assert.Equal(64, count));
        }
    }

    [Fact]
    public async Task Choose_64WholeGpusSize32_StepsBoundedBySeedsTimesSize()
    {
        var devices = Devices(64);
        var steps = 0;

        var chosen = await Task.Run(() => PreferredAllocator.Choose(devices, [], 32, ReplicaPolicy.Spread, () => steps++)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(32, chosen.Select(d => d.Id).Distinct().Count());
        Assert.True(steps <= 64 * 32, $"{steps} steps");
    }

    [Fact]
    public void Choose_ShuffledInputAndMustInclude_SameAnswerAsOrdered()
    {
        var devices = Devices(8);
        var shuffled = devices.OrderByDescending(d => d.Id, StringComparer.Ordinal).ToList();

        var first = PreferredAllocator.Choose(devices, [devices[5]], 4, ReplicaPolicy.Spread);
        var second = PreferredAllocator.Choose(shuffled, [devices[5]], 4, ReplicaPolicy.Spread);

        Assert.Equal(first.Select(d => d.Id), second.Select(d => d.Id));
        Assert.Equal([4, 5, 6, 7], Indices(first).Order());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void Choose_PreCancelledToken_Throws(int replicas)
    {
        var devices = Devices(8, new PluginOptions { Replicas = replicas });
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => PreferredAllocator.Choose(devices, [], 4, ReplicaPolicy.Spread, cancellationToken: cancel.Token));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void Choose_CancelledMidSearch_StopsAtTheNextStep(int replicas)
    {
        var devices = Devices(64, new PluginOptions { Replicas = replicas });
        using var cancel = new CancellationTokenSource();
        var steps = 0;

        Assert.Throws<OperationCanceledException>(() => PreferredAllocator.Choose(devices, [], 48, ReplicaPolicy.Spread, () =>
        {
            if (++steps == 20)
            {
                cancel.Cancel();
            }
        }, cancel.Token));

        Assert.Equal(20, steps);
    }
}
