using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using static GpuDaemon.Tests.TestSupport.FakePodResourcesServer;

namespace GpuDaemon.Tests.PodResources;

public sealed class AttributionMapTests
{
    private const string Gpu = "nvidia.com/gpu";

    private static string Uuid(int index) => DefaultScenario.UuidFor(index);

    private static AdvertisedDeviceSet Advertised(int gpus, PluginOptions options, Action<SimulationScenario>? configure = null) =>
        new(ResourcePlanner.Plan(Gpus.Inventory(gpus, configure), options));

    [Fact]
    public void Build_PlainGpus_EachGpuToItsContainer()
    {
        var response = Answer(
            Pod("ml", "train-0", ("trainer", Gpu, [Uuid(0), Uuid(1)])),
            Pod("ml", "infer-0", ("server", Gpu, [Uuid(2)])));

        var map = AttributionMap.Build(response, Advertised(4, new PluginOptions()));

        Assert.Equal([Uuid(0), Uuid(1), Uuid(2)], map.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([new PodContainer("ml", "train-0", "trainer")], map[Uuid(0)]);
        Assert.Equal([new PodContainer("ml", "train-0", "trainer")], map[Uuid(1)]);
        Assert.Equal([new PodContainer("ml", "infer-0", "server")], map[Uuid(2)]);
    }

    [Fact]
    public void Build_TimeSlicedReplicas_SharedGpuListsEveryContainerOnceInOrder()
    {
        var response = Answer(
            Pod("team-b", "job", ("main", Gpu, [Uuid(0) + "::3"])),
            Pod("team-a", "notebook", ("lab", Gpu, [Uuid(0) + "::0", Uuid(0) + "::1"])),
            Pod("team-a", "batch", ("worker", Gpu, [Uuid(0) + "::2"]), ("sidecar", Gpu, [Uuid(1) + "::0"])));

        var map = AttributionMap.Build(response, Advertised(2, new PluginOptions { Replicas = 4 }));

        Assert.Equal(
            [new PodContainer("team-a", "batch", "worker"), new PodContainer("team-a", "notebook", "lab"), new PodContainer("team-b", "job", "main")],
            map[Uuid(0)]);
        Assert.Equal([new PodContainer("team-a", "batch", "sidecar")], map[Uuid(1)]);
    }

    [Fact]
    public void Build_RenamedSharedResource_Matched()
    {
        var response = Answer(Pod("default", "p", ("c", Gpu + ".shared", [Uuid(1) + "::1"])));

        var map = AttributionMap.Build(response, Advertised(2, new PluginOptions { Replicas = 2, RenameShared = true }));

        Assert.Equal([new PodContainer("default", "p", "c")], Assert.Single(map, kv => kv.Key == Uuid(1)).Value);
    }

    [Fact]
    public void Build_RenamedResource_Matched()
    {
        var response = Answer(Pod("default", "p", ("c", "example.com/accel", [Uuid(0)])));

        var map = AttributionMap.Build(response, Advertised(1, new PluginOptions { ResourceName = "example.com/accel" }));

        Assert.Equal([new PodContainer("default", "p", "c")], map[Uuid(0)]);
    }

    [Fact]
    public void Build_MigMixed_MigDevicesKeyedByMigUuidAndWholeGpuByGpuUuid()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb", "3g.40gb"));
        var advertised = new AdvertisedDeviceSet(ResourcePlanner.Plan(inventory, new PluginOptions { MigStrategy = MigStrategy.Mixed }));
        var mig = inventory.Gpus[1].Mig.Instances;
        var response = Answer(
            Pod("ml", "small", ("a", "nvidia.com/mig-1g.10gb", [mig[0].Uuid]), ("b", "nvidia.com/mig-1g.10gb", [mig[1].Uuid])),
            Pod("ml", "big", ("x", "nvidia.com/mig-3g.40gb", [mig[2].Uuid]), ("x", Gpu, [Uuid(0)])));

        var map = AttributionMap.Build(response, advertised);

        Assert.Equal(["nvidia.com/gpu", "nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb"], advertised.ResourceNames);
        Assert.Equal([new PodContainer("ml", "small", "a")], map[mig[0].Uuid]);
        Assert.Equal([new PodContainer("ml", "small", "b")], map[mig[1].Uuid]);
        Assert.Equal([new PodContainer("ml", "big", "x")], map[mig[2].Uuid]);
        Assert.Equal([new PodContainer("ml", "big", "x")], map[Uuid(0)]);
        Assert.False(map.ContainsKey(Uuid(1)));
    }

    [Fact]
    public void Build_IndexIds_ResolvedToUuids()
    {
        var inventory = Gpus.Inventory(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb", "1g.10gb"));
        var options = new PluginOptions { DeviceIdStrategy = DeviceIdStrategy.Index, MigStrategy = MigStrategy.Mixed, Replicas = 2 };
        var advertised = new AdvertisedDeviceSet(ResourcePlanner.Plan(inventory, options));
        var second = inventory.Gpus[1].Mig.Instances[1];
        var response = Answer(
            Pod("ns", "whole", ("c", Gpu, ["0::1"])),
            Pod("ns", "part", ("c", "nvidia.com/mig-1g.10gb", [$"1:{second.GpuInstanceId}::0"])));

        var map = AttributionMap.Build(response, advertised);

        Assert.Equal([new PodContainer("ns", "whole", "c")], map[Uuid(0)]);
        Assert.Equal([new PodContainer("ns", "part", "c")], map[second.Uuid]);
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void Build_ResourcesNotOursAndUnknownIds_Ignored()
    {
        var response = Answer(
            Pod("ns", "other", ("c", "amd.com/gpu", [Uuid(0)]), ("c", "example.com/nic", ["eth0"])),
            Pod("ns", "stale", ("c", Gpu, ["GPU-gone"])),
            Pod("ns", "no-devices", ("c", Gpu, [])));

        var map = AttributionMap.Build(response, Advertised(2, new PluginOptions()));

        Assert.Empty(map);
    }

    [Fact]
    public void Build_SameContainerListedTwice_Deduplicated()
    {
        var pod = Pod("ns", "p", ("c", Gpu, [Uuid(0) + "::0", Uuid(0) + "::1"]));
        var response = Answer(pod, pod.Clone());

        var map = AttributionMap.Build(response, Advertised(1, new PluginOptions { Replicas = 2 }));

        Assert.Equal([new PodContainer("ns", "p", "c")], map[Uuid(0)]);
    }
}
