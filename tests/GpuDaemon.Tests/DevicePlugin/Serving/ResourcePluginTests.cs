using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Serving;

/// <summary>The plugin reads health only through the shared <see cref="IGpuHealth"/> verdicts, and speaks the kubelet's words.</summary>
public sealed class ResourcePluginTests
{
    private static readonly string Gpu0 = DefaultScenario.UuidFor(0);
    private static readonly string Gpu1 = DefaultScenario.UuidFor(1);

    [Fact]
    public void Snapshot_SharedVerdictUnhealthy_KubeletToldUnhealthy()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        health.Set(Gpu1, new GpuHealthVerdict(false, "Xid 79 (from another subsystem's view)", DateTimeOffset.UnixEpoch));

        var snapshot = plugin.Snapshot();

        Assert.Equal(["Healthy", "Unhealthy"], snapshot.Devices.Select(d => d.Health));
    }

    [Fact]
    public void Allocate_SharedVerdictUnhealthy_FailedPreconditionWithTheVerdictsReason()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        health.Set(Gpu1, new GpuHealthVerdict(false, "double-bit ECC error (test)", DateTimeOffset.UnixEpoch));

        var ex = Assert.Throws<RpcException>(() => ResourcePlugin.Refusing(() => plugin.Allocate(Request(Gpu1))));

        Assert.Equal(GrpcStatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("double-bit ECC error (test)", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusing_InvalidRequest_InvalidArgument()
    {
        var plugin = Plugin(new SettableHealth());

        var ex = Assert.Throws<RpcException>(() => ResourcePlugin.Refusing(() => plugin.Allocate(Request("GPU-unknown"))));

        Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("unknown device \"GPU-unknown\"", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAndWatch_SharedVerdictChanges_NewListSent()
    {
        var health = new SettableHealth();
        var plugin = Plugin(health);
        await using var server = await ServerHarness.StartAsync(plugin.CreateServiceMap());
        using var cancel = new CancellationTokenSource(PluginHarness.Wait);
        await using var stream = server.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), cancellationToken: cancel.Token).GetAsyncEnumerator(cancel.Token);

        Assert.True(await stream.MoveNextAsync());
        Assert.All(stream.Current.Devices, d => Assert.Equal("Healthy", d.Health));
        health.Set(Gpu0, new GpuHealthVerdict(false, "lost", DateTimeOffset.UnixEpoch));

        Assert.True(await stream.MoveNextAsync());
        Assert.Equal("Unhealthy", stream.Current.Devices[0].Health);
        Assert.Equal("Healthy", stream.Current.Devices[1].Health);
    }

    private static ResourcePlugin Plugin(IGpuHealth health)
    {
        var options = new PluginOptions();
        var plan = Assert.Single(ResourcePlanner.Plan(Gpus.Inventory(2), options));
        return new ResourcePlugin(plan, options, health, TestLogging.Logger);
    }

    private static AllocateRequest Request(params string[] ids) =>
        new() { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } } };
}
