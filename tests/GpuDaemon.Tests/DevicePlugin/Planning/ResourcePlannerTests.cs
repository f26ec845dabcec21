using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Planning;

public sealed class ResourcePlannerTests
{
    [Fact]
    public void Plan_Defaults_OneResourceOfWholeGpusByUuid()
    {
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(4), new PluginOptions()));

        Assert.Equal("nvidia.com/gpu", plan.ResourceName);
        Assert.Equal(Enumerable.Range(0, 4).Select(DefaultScenario.UuidFor), plan.Devices.Select(d => d.Id));
        Assert.All(plan.Devices, d => Assert.Equal(d.Id, d.RuntimeId));
        Assert.Equal([0, 0, 1, 1], plan.Devices.Select(d => d.NumaNode ?? -1));
    }

    [Fact]
    public void Plan_IndexStrategy_IdsAreIndices()
    {
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(3), new PluginOptions { DeviceIdStrategy = DeviceIdStrategy.Index }));

        Assert.Equal(["0", "1", "2"], plan.Devices.Select(d => d.Id));
    }

    [Fact]
    public void Plan_Replicas_EachGpuAdvertisedNTimesWithSuffix()
    {
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(2), new PluginOptions { Replicas = 3 }));

        Assert.Equal("nvidia.com/gpu", plan.ResourceName);
        Assert.Equal(6, plan.Devices.Count);
        Assert.Equal(DefaultScenario.UuidFor(1) + "::2", plan.Devices[5].Id);
        Assert.Equal(DefaultScenario.UuidFor(1), plan.Devices[5].RuntimeId);
        Assert.Equal(2, plan.Devices[5].Replica);
    }

    [Fact]
    public void Plan_ReplicasRenamed_SharedResourceName()
    {
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(1), new PluginOptions { Replicas = 2, RenameShared = true }));

        Assert.Equal("nvidia.com/gpu.shared", plan.ResourceName);
    }

    [Fact]
    public void Plan_MigNoneWithMigGpu_AdvertisesWholeGpu()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb"));

        var plan = Assert.Single(ResourcePlanner.Plan(inventory, new PluginOptions()));

        Assert.Equal(2, plan.Devices.Count);
        Assert.All(plan.Devices, d => Assert.Null(d.Mig));
    }

    [Fact]
    public void Plan_MigMixed_OneResourcePerProfilePlusWholeGpus()
    {
        var inventory = Gpus.Inventory(3, s =>
        {
            Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb", "3g.40gb");
            Gpus.EnableMig(s.Gpus[2], "1g.10gb");
        });

        var plans = ResourcePlanner.Plan(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed });

        Assert.Equal(["nvidia.com/gpu", "nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb"], plans.Select(p => p.ResourceName));
        Assert.Equal([DefaultScenario.UuidFor(0)], plans[0].Devices.Select(d => d.Id));
        Assert.Equal(3, plans[1].Devices.Count);
        Assert.All(plans[1].Devices, d => Assert.StartsWith("MIG-", d.Id, StringComparison.Ordinal));
        Assert.Single(plans[2].Devices);
    }

    [Fact]
    public void Plan_MigSingleAllSameProfile_InstancesUnderPlainResource()
    {
        var inventory = Gpus.Inventory(2, s =>
        {
            Gpus.EnableMig(s.Gpus[0], "1g.10gb", "1g.10gb");
            Gpus.EnableMig(s.Gpus[1], "1g.10gb");
        });

        var plan = Assert.Single(ResourcePlanner.Plan(inventory, new PluginOptions { MigStrategy = MigStrategy.Single }));

        Assert.Equal("nvidia.com/gpu", plan.ResourceName);
        Assert.Equal(3, plan.Devices.Count);
        Assert.All(plan.Devices, d => Assert.Equal("1g.10gb", d.Mig!.Profile));
    }

    [Fact]
    public void Plan_MigSingleWithNonMigGpu_PlanExceptionSuggestsMixed()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[0], "1g.10gb"));

        var ex = Assert.Throws<PlanException>(() => ResourcePlanner.Plan(inventory, new PluginOptions { MigStrategy = MigStrategy.Single }));

        Assert.Contains("GPU 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("mixed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_MigSingleTwoProfiles_PlanException()
    {
        var inventory = Gpus.Inventory(1, s => Gpus.EnableMig(s.Gpus[0], "1g.10gb", "2g.20gb"));

        var ex = Assert.Throws<PlanException>(() => ResourcePlanner.Plan(inventory, new PluginOptions { MigStrategy = MigStrategy.Single }));

        Assert.Contains("1g.10gb, 2g.20gb", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_NoGpus_EmptyResourceStillPlanned()
    {
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(0), new PluginOptions()));

        Assert.Empty(plan.Devices);
    }

    [Fact]
    public void MigResourceName_Profile_UsesResourceDomain()
    {
        Assert.Equal("example.com/mig-2g.20gb", ResourcePlanner.MigResourceName("example.com/gpu", "2g.20gb"));
    }
}
