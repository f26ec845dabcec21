using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class GrpcUnixClientTests
{
    [Fact]
    public async Task UnaryAsync_NoServerOnSocket_UnavailableNamingTheMethod()
    {
        using var dir = new TempDirectory();
        using var client = new GrpcUnixClient(dir.File("missing.sock"));

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(DevicePluginApi.Register, new RegisterRequest()));

        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("missing.sock", ex.Detail, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnaryAsync_CallerCancels_Cancelled()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var cts = new CancellationTokenSource();

        var call = harness.Client.UnaryAsync(DevicePluginApi.PreStartContainer, new PreStartContainerRequest { DevicesIds = { "slow" } }, cancellationToken: cts.Token);
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(GrpcStatusCode.Cancelled, ex.StatusCode);
    }

    [Fact]
    public async Task UnaryAsync_UnknownMethod_Unimplemented()
    {
        await using var harness = await ServerHarness.StartAsync(new GrpcServiceMap());

        var ex = await Assert.ThrowsAsync<RpcException>(() => harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty()));

        Assert.Equal(GrpcStatusCode.Unimplemented, ex.StatusCode);
        Assert.Contains("/v1beta1.DevicePlugin/GetDevicePluginOptions", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnaryAsync_ResponseOverClientLimit_ResourceExhausted()
    {
        var services = new GrpcServiceMap().MapUnary(DevicePluginApi.Allocate, (_, _) => Task.FromResult(new AllocateResponse
        {
            ContainerResponses = { new ContainerAllocateResponse { Envs = { ["BIG"] = new string('x', 4096) } } },
        }));
        await using var harness = await ServerHarness.StartAsync(services);
        using var client = new GrpcUnixClient(harness.SocketPath, maxReceiveMessageBytes: 1024);

        var ex = await Assert.ThrowsAsync<RpcException>(() => client.UnaryAsync(DevicePluginApi.Allocate, new AllocateRequest()));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public void MapUnary_StreamingMethod_Refused()
    {
        var map = new GrpcServiceMap();

        Assert.Throws<ArgumentException>(() => map.MapUnary(DevicePluginApi.ListAndWatch, (_, _) => Task.FromResult(new ListAndWatchResponse())));
    }

    [Fact]
    public void MapUnary_SamePathTwice_Refused()
    {
        var map = new GrpcServiceMap().MapUnary(DevicePluginApi.Allocate, (_, _) => Task.FromResult(new AllocateResponse()));

        Assert.Throws<InvalidOperationException>(() => map.MapUnary(DevicePluginApi.Allocate, (_, _) => Task.FromResult(new AllocateResponse())));
    }
}
