using System.Diagnostics;
using System.Net;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class GrpcUnixServerTests
{
    private const string AllocatePath = "/v1beta1.DevicePlugin/Allocate";
    private const string ListAndWatchPath = "/v1beta1.DevicePlugin/ListAndWatch";

    private static AllocateRequest Request(params string[] ids) =>
        new() { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } } };

    /// <summary>One framed request message for a unary (Allocate) or server-streaming (ListAndWatch) method.</summary>
    private static byte[] OneRequest(string path) =>
        GrpcFraming.Frame(path == ListAndWatchPath ? new Empty() : Request("GPU-a"));

    [Fact]
    public async Task StartAsync_StaleSocketFile_ReplacesItAndServesWithOwnerOnlyMode()
    {
        using var dir = new TempDirectory();
        var socket = dir.File("plugin.sock");
        await File.WriteAllTextAsync(socket, "stale");
        await using var server = new GrpcUnixServer(socket, new InteropTestService().Map(), TestLogging.Factory);

        await server.StartAsync();
        using var client = new GrpcUnixClient(socket);
        var options = await client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());

        Assert.True(options.PreStartRequired);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
    }

    [Fact]
    public async Task StopAsync_RunningServer_RemovesSocketFile()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());

        await harness.Server.StopAsync();

        Assert.False(File.Exists(harness.SocketPath));
    }

    [Fact]
    public async Task StartAsync_MissingDirectory_ThrowsNamingIt()
    {
        await using var server = new GrpcUnixServer("/nonexistent-gd-dir/plugin.sock", new GrpcServiceMap(), TestLogging.Factory);

        var ex = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => server.StartAsync());

        Assert.Contains("/nonexistent-gd-dir", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnaryAsync_KnownMethod_ReturnsHandlerResponseAndSendsLocalhostAuthority()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());

        var response = await harness.Client.UnaryAsync(DevicePluginApi.Allocate, Request("GPU-a", "GPU-b"));

        Assert.Equal("GPU-a,GPU-b", response.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]);
        await harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());
        Assert.Equal("localhost", service.LastAuthority);
    }

    [Fact]
    public async Task UnaryAsync_LargeRequest_SpansFramesAndRoundTrips()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        var ids = Enumerable.Range(0, 20_000).Select(i => $"GPU-{i:D5}").ToArray();

        var response = await harness.Client.UnaryAsync(DevicePluginApi.Allocate, Request(ids));

        Assert.Equal("20000", response.ContainerResponses[0].Envs["COUNT"]);
        Assert.Equal("GPU-19999", response.ContainerResponses[0].Envs["LAST"]);
    }

    [Fact]
    public async Task UnaryAsync_HandlerThrowsRpcException_ClientGetsStatusAndExactMessage()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            harness.Client.UnaryAsync(DevicePluginApi.Allocate, Request(InteropTestService.BadDeviceId)));

        Assert.Equal(GrpcStatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal($"unknown device \"{InteropTestService.BadDeviceId}\": 100% not found", ex.Detail);
    }

    [Fact]
    public async Task UnaryAsync_HandlerThrowsOtherException_InternalWithOneLineAndNoStackTrace()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            harness.Client.UnaryAsync(DevicePluginApi.GetPreferredAllocation, new PreferredAllocationRequest()));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Equal("/v1beta1.DevicePlugin/GetPreferredAllocation failed: preferred allocation exploded", ex.Detail);
    }

    [Fact]
    public async Task UnaryAsync_RequestOverLimit_ResourceExhausted()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map(), new GrpcServerOptions { MaxReceiveMessageBytes = 1024 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            harness.Client.UnaryAsync(DevicePluginApi.Allocate, Request(new string('x', 2048))));

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Dispatch_UnknownMethod_TrailersOnlyUnimplemented()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/NoSuchMethod", GrpcFraming.Frame(new Empty()));

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal("12", response.GrpcStatus);
        Assert.Empty(response.Body);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    [InlineData("application/grpcfoo")]
    public async Task Dispatch_NonGrpcContentType_Http415(string contentType)
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", GrpcFraming.Frame(Request("a")), contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
    }

    [Fact]
    public async Task Dispatch_GrpcProtoContentType_Accepted()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/GetDevicePluginOptions", GrpcFraming.Frame(new Empty()), "application/grpc+proto");

        Assert.Equal("0", response.GrpcStatus);
        Assert.False(response.TrailersOnly);
    }

    [Fact]
    public async Task Dispatch_BodyTrickledThreeBytesPerFrame_Reassembled()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", GrpcFraming.Frame(Request("GPU-a", "GPU-b")), chunkSize: 3);

        Assert.Equal("0", response.GrpcStatus);
        var reply = AllocateResponse.Parser.ParseFrom(response.Body.AsSpan(5));
        Assert.Equal("GPU-a,GPU-b", reply.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task Dispatch_CompressedFlagWithoutEncoding_InternalStatusAndServerKeepsServing()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);
        var framed = GrpcFraming.Frame(Request("a"));
        framed[0] = 1;

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", framed);
        var after = await harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());

        Assert.Equal("13", response.GrpcStatus);
        Assert.True(after.GetPreferredAllocationAvailable);
    }

    [Fact]
    public async Task Dispatch_UnsupportedEncoding_Unimplemented()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", GrpcFraming.Frame(Request("a")), headers: new Dictionary<string, string> { ["grpc-encoding"] = "gzip" });

        Assert.Equal("12", response.GrpcStatus);
    }

    [Fact]
    public async Task Dispatch_EmptyBody_InternalNotCrash()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", []);

        Assert.Equal("13", response.GrpcStatus);
    }

    [Fact]
    public async Task Dispatch_MalformedTimeoutHeader_Internal()
    {
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync("/v1beta1.DevicePlugin/Allocate", GrpcFraming.Frame(Request("a")), headers: new Dictionary<string, string> { ["grpc-timeout"] = "soon" });

        Assert.Equal("13", response.GrpcStatus);
        Assert.Contains("grpc-timeout", response.GrpcMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AllocatePath)]
    [InlineData(ListAndWatchPath)]
    public async Task Dispatch_TwoMessagesInOneDataFrame_InternalAndHandlerNotCalled(string path)
    {
        var service = new CountingService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var raw = new RawHttp2Client(harness.SocketPath);
        var one = OneRequest(path);

        var response = await raw.PostAsync(path, [.. one, .. one]);

        AssertRejectedForExtraData(response, service);
    }

    [Theory]
    [InlineData(AllocatePath)]
    [InlineData(ListAndWatchPath)]
    public async Task Dispatch_TwoMessagesInTwoDataFrames_InternalAndHandlerNotCalled(string path)
    {
        var service = new CountingService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var raw = new RawHttp2Client(harness.SocketPath);
        var one = OneRequest(path);

        var response = await raw.PostAsync(path, [.. one, .. one], chunkSize: one.Length);

        AssertRejectedForExtraData(response, service);
    }

    [Theory]
    [InlineData(AllocatePath)]
    [InlineData(ListAndWatchPath)]
    public async Task Dispatch_MessageThenThreeStrayBytes_InternalAndHandlerNotCalled(string path)
    {
        var service = new CountingService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync(path, [.. OneRequest(path), 0, 0, 0]);

        AssertRejectedForExtraData(response, service);
    }

    [Theory]
    [InlineData(AllocatePath)]
    [InlineData(ListAndWatchPath)]
    public async Task Dispatch_OneMessageSplitAcrossDataFrames_HandlerCalledOnceAndOk(string path)
    {
        var service = new CountingService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync(path, OneRequest(path), chunkSize: 2);

        Assert.Equal("0", response.GrpcStatus);
        Assert.Equal(1, service.Calls);
        Assert.NotEmpty(response.Body);
    }

    [Fact]
    public async Task ServerStreaming_ClientCancelsMidStream_HandlerTokenCancelled()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        using var cts = new CancellationTokenSource();
        var received = new List<ListAndWatchResponse>();

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var message in harness.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), cancellationToken: cts.Token))
            {
                received.Add(message);
                if (received.Count == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(GrpcStatusCode.Cancelled, ex.StatusCode);
        Assert.Equal([1, 2, 3], received.Select(r => r.Devices.Count));
        Assert.Equal(2, received[2].Devices[2].Topology.Nodes[0].ID);
        await service.StreamCancelled.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ServerStreaming_EnumeratorDisposedEarly_HandlerTokenCancelled()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());

        await foreach (var message in harness.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty()))
        {
            break;
        }

        await service.StreamCancelled.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ServerStreaming_ServerStopsMidStream_ClientGetsUnavailableAfterMessagesSoFar()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        var received = 0;

        var reading = Task.Run(async () =>
        {
            await foreach (var message in harness.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty()))
            {
                if (++received == 3)
                {
                    await harness.Server.StopAsync();
                }
            }
        });

        var ex = await Assert.ThrowsAsync<RpcException>(() => reading.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(GrpcStatusCode.Unavailable, ex.StatusCode);
        Assert.Equal(3, received);
    }

    [Fact]
    public async Task Deadline_HandlerOutlivesGrpcTimeout_HandlerCancelledAndClientGetsDeadlineExceeded()
    {
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map());
        var request = new PreStartContainerRequest { DevicesIds = { "slow" } };

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            harness.Client.UnaryAsync(DevicePluginApi.PreStartContainer, request, timeout: TimeSpan.FromMilliseconds(200)));

        Assert.Equal(GrpcStatusCode.DeadlineExceeded, ex.StatusCode);
        await service.DeadlineCancelled.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Deadline_ServerClockPassesTimeout_HandlerSeesDeadlineExceeded()
    {
        var clock = new ManualTimeProvider();
        var service = new InteropTestService();
        await using var harness = await ServerHarness.StartAsync(service.Map(), timeProvider: clock);
        using var raw = new RawHttp2Client(harness.SocketPath);
        var request = GrpcFraming.Frame(new PreStartContainerRequest { DevicesIds = { "slow" } });

        var call = raw.PostAsync("/v1beta1.DevicePlugin/PreStartContainer", request, headers: new Dictionary<string, string> { ["grpc-timeout"] = "5S" });
        // The clock has to move after the server has set its deadline timer, and nothing says when that is: keep
        // advancing, but give up on real time so a call that never ends fails the test instead of hanging the run.
        var waited = Stopwatch.StartNew();
        while (!call.IsCompleted)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(15), "the call did not end within 15 s although the server clock kept passing its 5 s grpc-timeout");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(call, Task.Delay(10));
        }

        var response = await call;
        Assert.Equal("4", response.GrpcStatus);
        Assert.True(service.DeadlineCancelled.IsCompleted);
    }

    private static void AssertRejectedForExtraData(RawHttp2Client.RawResponse response, CountingService service)
    {
        Assert.Equal("13", response.GrpcStatus);
        Assert.Equal("additional data after the request message; this method takes exactly one message", response.GrpcMessage);
        Assert.Equal(0, service.Calls);
    }
}
