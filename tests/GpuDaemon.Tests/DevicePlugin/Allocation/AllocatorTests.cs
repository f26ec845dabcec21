using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Allocation;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.DevicePlugin.Allocation;

public sealed class AllocatorTests : IAsyncLifetime
{
    private static readonly string Gpu0 = DefaultScenario.UuidFor(0);
    private static readonly string Gpu1 = DefaultScenario.UuidFor(1);
    private ScenarioFile _file = null!;
    private GpuHealthMonitor _health = null!;

    public async Task InitializeAsync()
    {
        _file = await ScenarioFile.StartAsync(4);
        _health = new GpuHealthMonitor(_file.Backend, new TestOptionsMonitor<HealthOptions>(new HealthOptions()), _file.Clock, TestLogging.Factory.CreateLogger<GpuHealthMonitor>());
        await _health.StartAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _health.DisposeAsync();
        await _file.DisposeAsync();
    }

    [Fact]
    public void Allocate_TwoGpus_VisibleDevicesAndDeviceSpecs()
    {
        var response = Allocator().Allocate(Request(Gpu0, Gpu1));

        var container = Assert.Single(response.ContainerResponses);
        Assert.Equal($"{Gpu0},{Gpu1}", container.Envs["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Contains(container.Devices, d => d.HostPath == "/dev/nvidia0" && d.ContainerPath == "/dev/nvidia0" && d.Permissions == "rw");
        Assert.Contains(container.Devices, d => d.HostPath == "/dev/nvidia1");
    }

    [Fact]
    public void Allocate_ControlDevicesUnderDevRoot_AddedWhenPresent()
    {
        using var root = new TempDirectory();
        Directory.CreateDirectory(root.File("dev"));
        File.WriteAllText(root.File("dev/nvidiactl"), string.Empty);
        File.WriteAllText(root.File("dev/nvidia-uvm"), string.Empty);

        var container = Allocator(new PluginOptions { DevRoot = root.Path }).Allocate(Request(Gpu0)).ContainerResponses[0];

        Assert.Equal(["/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm"], container.Devices.Select(d => d.HostPath));
    }

    [Fact]
    public void Allocate_IndexStrategy_IndicesInEnv()
    {
        var container = Allocator(new PluginOptions { DeviceIdStrategy = DeviceIdStrategy.Index }).Allocate(Request("2", "0")).ContainerResponses[0];

        Assert.Equal("2,0", container.Envs["NVIDIA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public void Allocate_VolumeMounts_OneMountPerDevice()
    {
        var container = Allocator(new PluginOptions { DeviceListStrategy = DeviceListStrategy.VolumeMounts }).Allocate(Request(Gpu1)).ContainerResponses[0];

        Assert.Equal("/var/run/nvidia-container-devices", container.Envs["NVIDIA_VISIBLE_DEVICES"]);
        var mount = Assert.Single(container.Mounts);
        Assert.Equal($"/var/run/nvidia-container-devices/{Gpu1}", mount.ContainerPath);
        Assert.Equal("/dev/null", mount.HostPath);
        Assert.True(mount.ReadOnly);
    }

    [Fact]
    public void Allocate_CdiCri_CdiNamesAndNoEnv()
    {
        var container = Allocator(new PluginOptions { DeviceListStrategy = DeviceListStrategy.CdiCri }).Allocate(Request(Gpu0)).ContainerResponses[0];

        Assert.Equal([$"nvidia.com/gpu={Gpu0}"], container.CdiDevices.Select(c => c.Name));
        Assert.False(container.Envs.ContainsKey("NVIDIA_VISIBLE_DEVICES"));
    }

    [Fact]
    public void Allocate_TwoReplicasOfOneGpu_OneRuntimeIdOneDeviceNode()
    {
        var container = Allocator(new PluginOptions { Replicas = 4 }).Allocate(Request($"{Gpu0}::0", $"{Gpu0}::3")).ContainerResponses[0];

        Assert.Equal(Gpu0, container.Envs["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Single(container.Devices, d => d.HostPath == "/dev/nvidia0");
    }

    [Fact]
    public void Allocate_MoreThanOneReplicaWhenRefused_InvalidArgument()
    {
        var ex = Assert.Throws<AllocationException>(() => Allocator(new PluginOptions { Replicas = 2, FailRequestsGreaterThanOne = true }).Allocate(Request($"{Gpu0}::0", $"{Gpu1}::0")));

        Assert.Equal(AllocationRefusal.InvalidRequest, ex.Refusal);
        Assert.Contains("more than one replica", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_UnknownId_InvalidArgumentNamingItAndAnExample()
    {
        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request(Gpu0, "GPU-nope")));

        Assert.Equal(AllocationRefusal.InvalidRequest, ex.Refusal);
        Assert.Contains("unknown device \"GPU-nope\" for nvidia.com/gpu", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Gpu0, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_Duplicate_InvalidArgument()
    {
        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request(Gpu0, Gpu0)));

        Assert.Equal(AllocationRefusal.InvalidRequest, ex.Refusal);
        Assert.Contains($"\"{Gpu0}\" twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_NoContainers_InvalidArgument()
    {
        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(new AllocateRequest()));

        Assert.Equal(AllocationRefusal.InvalidRequest, ex.Refusal);
    }

    [Fact]
    public void Allocate_EmptyDeviceList_InvalidArgument()
    {
        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request()));

        Assert.Contains("names no devices", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_UnhealthyDevice_FailedPreconditionWithReason()
    {
        _health.Handle(new DeviceEvent(DeviceEventKind.Xid, Gpu1, _file.Clock.GetUtcNow(), "test", 79));

        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request(Gpu1)));

        Assert.Equal(AllocationRefusal.DeviceUnusable, ex.Refusal);
        Assert.Contains($"\"{Gpu1}\" (GPU 1 {Gpu1}) is Unhealthy: Xid 79", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_HugeOddId_MessageShortAndPrintable()
    {
        var id = "\u0001\u0002" + new string('x', 100_000);

        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request(id)));

        Assert.True(ex.Message.Length < 400, ex.Message);
        Assert.DoesNotContain('\u0001', ex.Message);
    }

    [Fact]
    public void Allocate_TenThousandUnknownIds_RejectedFast()
    {
        var ids = Enumerable.Range(0, 10_000).Select(i => $"GPU-{i}").ToArray();

        var ex = Assert.Throws<AllocationException>(() => Allocator().Allocate(Request(ids)));

        Assert.Equal(AllocationRefusal.InvalidRequest, ex.Refusal);
    }

    [Fact]
    public void PreStart_HealthyDevices_Passes()
    {
        Allocator().PreStart(new PreStartContainerRequest { DevicesIds = { Gpu0, Gpu1 } });
    }

    [Fact]
    public void PreStart_DeviceWentBadSinceAllocate_FailedPrecondition()
    {
        var allocator = Allocator();
        allocator.Allocate(Request(Gpu0));
        _file.Edit(s => s.Gpus[0].Healthy = false);

        var ex = Assert.Throws<AllocationException>(() => allocator.PreStart(new PreStartContainerRequest { DevicesIds = { Gpu0 } }));

        Assert.Equal(AllocationRefusal.DeviceUnusable, ex.Refusal);
        Assert.Contains("healthy: false", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_SameDeviceListTwice_SecondAnswerIsTheCachedOne()
    {
        var allocator = Allocator();

        var first = allocator.Allocate(Request(Gpu0, Gpu1)).ContainerResponses[0];
        var second = allocator.Allocate(Request(Gpu0, Gpu1)).ContainerResponses[0];
        var reordered = allocator.Allocate(Request(Gpu1, Gpu0)).ContainerResponses[0];

        Assert.Same(first, second);
        Assert.NotSame(first, reordered);
        Assert.Equal($"{Gpu1},{Gpu0}", reordered.Envs["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Equal(2, allocator.CachedAnswers);
    }

    [Fact]
    public void Allocate_CachedDeviceTurnsUnhealthy_StillRefused()
    {
        var allocator = Allocator();
        allocator.Allocate(Request(Gpu1));
        _health.Handle(new DeviceEvent(DeviceEventKind.Xid, Gpu1, _file.Clock.GetUtcNow(), "test", 79));

        var ex = Assert.Throws<AllocationException>(() => allocator.Allocate(Request(Gpu1)));

        Assert.Equal(AllocationRefusal.DeviceUnusable, ex.Refusal);
        Assert.Contains("is Unhealthy: Xid 79", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allocate_RefusedDeviceLists_NeverCached()
    {
        var allocator = Allocator();

        Assert.Throws<AllocationException>(() => allocator.Allocate(Request(Gpu0, Gpu0)));
        Assert.Throws<AllocationException>(() => allocator.Allocate(Request("GPU-unknown")));
        Assert.Throws<AllocationException>(() => allocator.Allocate(Request(Gpu0, Gpu0)));

        Assert.Equal(0, allocator.CachedAnswers);
    }

    [Fact]
    public void Allocate_MoreDistinctListsThanTheCacheHolds_CacheStaysBoundedAndAnswersStayRight()
    {
        var config = new PluginOptions { Replicas = PluginOptions.MaxReplicas };
        var allocator = Allocator(config);
        var ids = Assert.Single(ResourcePlanner.Plan(_file.Backend.Inventory, config)).Devices.Select(d => d.Id).ToList();
        var lists = 0;

        for (var step = 1; lists <= GpuDaemon.DevicePlugin.Allocation.Allocator.MaxCachedAnswers; step++)
        {
            for (var i = 0; i < ids.Count; i++, lists++)
            {
                var other = ids[(i + step) % ids.Count];
                var container = allocator.Allocate(Request(ids[i], other)).ContainerResponses[0];
                Assert.Contains(ids[i].Split("::")[0], container.Envs["NVIDIA_VISIBLE_DEVICES"], StringComparison.Ordinal);
            }
        }

        Assert.Equal(GpuDaemon.DevicePlugin.Allocation.Allocator.MaxCachedAnswers, allocator.CachedAnswers);
    }

    [Fact]
    public void Allocate_CachedDeviceList_AllocatesOnlyTheResponseEnvelope()
    {
        var allocator = Allocator();
        var request = Request(Gpu0);
        allocator.Allocate(request);
        allocator.Allocate(request);

        var before = GC.GetAllocatedBytesForCurrentThread();
        allocator.Allocate(request);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // An AllocateResponse, its container list and that list's array: nothing per device, no strings.
        Assert.InRange(allocated, 1, 256);
    }

    private Allocator Allocator(PluginOptions? config = null)
    {
        config ??= new PluginOptions();
        var plan = Assert.Single(ResourcePlanner.Plan(_file.Backend.Inventory, config));
        return new Allocator(plan, config, _health);
    }

    private static AllocateRequest Request(params string[] ids) =>
        new() { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } } };
}
