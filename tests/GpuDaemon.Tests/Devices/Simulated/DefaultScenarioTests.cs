using GpuDaemon.Devices.Simulated;

namespace GpuDaemon.Tests.Devices.Simulated;

public sealed class DefaultScenarioTests
{
    [Fact]
    public void Create_SameCountTwice_IdenticalGpus()
    {
        var first = ScenarioReader.Serialize(DefaultScenario.Create(8));
        var second = ScenarioReader.Serialize(DefaultScenario.Create(8));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Create_EightGpus_HalvesOnTwoNumaNodesWithNvLinkInsideEachHalf()
    {
        var scenario = DefaultScenario.Create(8);

        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], scenario.Gpus.Select(g => g.NumaNode ?? -1));
        Assert.Equal(8, scenario.Gpus.Select(g => g.Uuid).Distinct().Count());
        Assert.Equal(8, scenario.Gpus.Select(g => g.PciBusId).Distinct().Count());
        foreach (var gpu in scenario.Gpus)
        {
            Assert.Equal(3, gpu.NvlinkPeers.Count);
            foreach (var peer in gpu.NvlinkPeers)
            {
                var other = scenario.Gpus.Single(g => g.Uuid == peer);
                Assert.Equal(gpu.NumaNode, other.NumaNode);
                Assert.Contains(gpu.Uuid, other.NvlinkPeers);
            }
        }
    }

    [Fact]
    public void Create_MaxGpus_AllValidWithDistinctBusIds()
    {
        var scenario = DefaultScenario.Create(DefaultScenario.MaxGpus);

        ScenarioReader.Validate(scenario, "test");
        Assert.Equal(DefaultScenario.MaxGpus, scenario.Gpus.Select(g => g.PciBusId).Distinct().Count());
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(DefaultScenario.MaxGpus + 1)]
    public void Create_CountOutOfRange_Throws(int count)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DefaultScenario.Create(count));
    }
}
