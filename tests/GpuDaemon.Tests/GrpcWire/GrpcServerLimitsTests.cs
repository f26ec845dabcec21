using System.Diagnostics;
using System.Net;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.GrpcWire;

/// <summary>The server's limits, driven by a frame-level HTTP/2 client: connections, request bodies, budgets, deadlines, cancellation.</summary>
public sealed class GrpcServerLimitsTests
{
    private const string AllocatePath = "/v1beta1.DevicePlugin/Allocate";
    private const string ListAndWatchPath = "/v1beta1.DevicePlugin/ListAndWatch";
    private const string OptionsPath = "/v1beta1.DevicePlugin/GetDevicePluginOptions";

    private static byte[] AllocateBody() =>
        GrpcFraming.Frame(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "GPU-a" } } } });

    [Fact]
    public async Task Connections_MoreThanTheLimit_ExtraOnesClosedExistingKeepWorkingAndNewOneWorksAfter()
    {
        const int limit = 4;
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map(), new GrpcServerOptions { MaxConcurrentConnections = limit });
        var admitted = new List<RawHttp2Connection>();
        var extra = new List<RawHttp2Connection>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);
                admitted.Add(connection);
                var watch = await connection.CallAsync(ListAndWatchPath, GrpcFraming.Frame(new Empty()));
                await connection.ResponseStarted(watch).WaitAsync(TimeSpan.FromSeconds(20));
            }

            for (var i = 0; i < 2 * limit; i++)
            {
                extra.Add(await RawHttp2Connection.ConnectAsync(harness.SocketPath));
            }

            await Task.WhenAll(extra.Select(c => c.Closed)).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(limit, harness.Server.Counters.OpenConnections);
            Assert.Equal(2 * limit, harness.Server.Counters.RejectedConnections);

            // The admitted connections keep working: their ListAndWatch streams are open, and a new call succeeds.
            foreach (var connection in admitted)
            {
                var call = await connection.CallAsync(AllocatePath, AllocateBody());
                Assert.Equal("0", (await connection.WaitForEndAsync(call)).GrpcStatus);
                Assert.False(connection.Closed.IsCompleted);
            }

            await admitted[0].DisposeAsync();
            admitted.RemoveAt(0);
            await ServerHarness.SettlesAsync(() => harness.Server.Counters.OpenConnections == limit - 1, "the closed connection was never counted as closed");

            var options = await harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());
            Assert.True(options.PreStartRequired);
        }
        finally
        {
            foreach (var connection in admitted.Concat(extra))
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A burst of calls each reset at once can overflow Kestrel's queue of stream output operations ("exceeded the
    /// output operations maximum queue size"). Kestrel then resets the socket, but a stream whose completion it
    /// dropped keeps its connection processing waiting for ever: the connection middleware never returns, and the
    /// connection used to stay counted, holding one of the 64 places, long after its socket was gone.
    /// </summary>
    [Fact]
    public async Task Connections_ResetBurstsOverflowKestrelOutputQueue_ConnectionCountReturnsToZero()
    {
        const string overflow = "output operations maximum queue size";
        var logs = new RecordingLoggerFactory();
        await using var harness = await ServerHarness.StartAsync(new CountingService().Map(), loggerFactory: logs);
        var attempts = 0;
        while (attempts < 200)
        {
            attempts++;
            await using (var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath))
            {
                await connection.ResetBurstAsync(AllocatePath, 500);
                // Either the server closed the connection for the burst or it still answers a call on it.
                var call = await connection.CallAsync(OptionsPath, GrpcFraming.Frame(new Empty()));
                var outcome = await connection.WaitForEndAsync(call);
                Assert.True(outcome.GrpcStatus == "0" || outcome.ConnectionClosed || outcome.ResetError is not null, $"attempt {attempts}: {outcome}");
            }

            await ServerHarness.SettlesAsync(
                () => harness.Server.Counters.OpenConnections == 0,
                $"attempt {attempts}: {harness.Server.Counters.OpenConnections} connection(s) still counted after the client closed; overflows so far: {logs.Logger.Entries.Count(e => e.Message.Contains(overflow, StringComparison.Ordinal))}",
                TimeSpan.FromSeconds(5));
        }

        // The case under test must have happened; if Kestrel no longer overflows on such bursts, find another trigger.
        Assert.True(logs.Logger.Entries.Any(e => e.Message.Contains(overflow, StringComparison.Ordinal)), $"no output-queue overflow in {attempts} bursts");

        // A stream of the last burst may still be finishing on a loaded machine; one stuck for good would not.
        await ServerHarness.SettlesAsync(
            () => harness.Server.Counters.ActiveStreams == 0,
            $"{harness.Server.Counters.ActiveStreams} stream(s) still active after the bursts",
            TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Connections_ServerSettings_AdvertiseStreamLimitAndRefuseStreamsBeyondIt()
    {
        const int streams = 3;
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map(), new GrpcServerOptions { MaxStreamsPerConnection = streams });
        await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);

        // Wait for the server's SETTINGS to be acknowledged by a first round trip, then hold the limit open.
        var first = await connection.CallAsync(OptionsPath, GrpcFraming.Frame(new Empty()));
        await connection.WaitForEndAsync(first);
        var held = new List<int>();
        for (var i = 0; i < streams; i++)
        {
            held.Add(await connection.StartCallAsync(AllocatePath));
        }

        var refused = await connection.StartCallAsync(AllocatePath);
        var outcome = await connection.WaitForEndAsync(refused);

        Assert.Equal(0x7, outcome.ResetError); // REFUSED_STREAM
        Assert.False(connection.Closed.IsCompleted);
    }

    [Fact]
    public async Task RequestBody_HeadersWithoutData_DeadlineExceededAfterBodyTimeoutAndHandlerNotCalled()
    {
        var clock = new ManualTimeProvider();
        var service = new CountingService(holdListAndWatchOpen: true);
        await using var harness = await ServerHarness.StartAsync(service.Map(), timeProvider: clock);
        await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);

        var stream = await connection.StartCallAsync(AllocatePath);
        var outcome = await AdvanceUntilEndedAsync(clock, connection, stream);

        Assert.Equal("4", outcome.GrpcStatus);
        Assert.Contains("did not arrive in whole within 10 s", outcome.GrpcMessage, StringComparison.Ordinal);
        Assert.Equal(0, service.Calls);
        await ServerHarness.SettlesAsync(() => harness.Server.Counters.ActiveStreams == 0, "the timed-out stream was never freed");
    }

    [Fact]
    public async Task RequestBody_ThreeOfFivePrefixBytes_DeadlineExceededAfterBodyTimeoutAndBytesReleased()
    {
        var clock = new ManualTimeProvider();
        var service = new CountingService(holdListAndWatchOpen: true);
        await using var harness = await ServerHarness.StartAsync(service.Map(), timeProvider: clock);
        await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);

        var stream = await connection.StartCallAsync(AllocatePath);
        await connection.WriteDataAsync(stream, [0, 0, 0]);
        await ServerHarness.SettlesAsync(() => harness.Server.Counters.BufferedRequestBytes == 3, "the partial prefix was never counted as buffered");
        var outcome = await AdvanceUntilEndedAsync(clock, connection, stream);

        Assert.Equal("4", outcome.GrpcStatus);
        Assert.Equal(0, service.Calls);
        Assert.Equal(0, harness.Server.Counters.BufferedRequestBytes);
    }

    [Fact]
    public async Task RequestBody_ListAndWatchOpenPastTheBodyTimeout_NotCut()
    {
        var clock = new ManualTimeProvider();
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map(), timeProvider: clock);
        await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);
        var threeMessages = Enumerable.Range(1, 3).Sum(n => GrpcFraming.Frame(DeviceList(n)).Length);

        var watch = await connection.CallAsync(ListAndWatchPath, GrpcFraming.Frame(new Empty()));
        await connection.DataReceived(watch, threeMessages).WaitAsync(TimeSpan.FromSeconds(20));
        for (var i = 0; i < 100; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
        }

        // A call on the same connection completes after the clock moved: had the stream been cut, its end would be in first.
        var call = await connection.CallAsync(AllocatePath, AllocateBody());
        Assert.Equal("0", (await connection.WaitForEndAsync(call)).GrpcStatus);
        var watchNow = connection.Peek(watch);
        Assert.False(watchNow.EndedByServer, watchNow.ToString());
        Assert.False(watchNow.ConnectionClosed);
        Assert.Equal(1, harness.Server.Counters.ActiveStreams);
    }

    [Fact]
    public async Task RequestBody_FloodOfIncompleteLargeMessages_StaysWithinByteCeilingsAndReturnsToIdle()
    {
        const long perConnection = 256 * 1024;
        const long total = 512 * 1024;
        var options = new GrpcServerOptions { MaxBufferedRequestBytesPerConnection = perConnection, MaxBufferedRequestBytes = total, MaxStreamsPerConnection = 16 };
        await using var harness = await ServerHarness.StartAsync(new CountingService(holdListAndWatchOpen: true).Map(), options);
        var connections = new List<RawHttp2Connection>();
        var streams = new List<(RawHttp2Connection Connection, int Stream)>();
        try
        {
            // 4 connections x 8 streams, each declaring a 3.9 MB message and sending 60 KiB of it: 1.9 MB offered.
            var prefix = new byte[] { 0, 0x00, 0x3B, 0x83, 0x40 };
            var chunk = new byte[60 * 1024];
            for (var c = 0; c < 4; c++)
            {
                var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);
                connections.Add(connection);
                for (var s = 0; s < 8; s++)
                {
                    var stream = await connection.StartCallAsync(AllocatePath);
                    await connection.WriteDataAsync(stream, [.. prefix, .. chunk]);
                    streams.Add((connection, stream));
                }
            }

            // Every stream either got RESOURCE_EXHAUSTED or is still held within the budget.
            await ServerHarness.SettlesAsync(
                () => harness.Server.Counters.BufferedRequestBytes == streams.Count(s => !s.Connection.Peek(s.Stream).EndedByServer) * (prefix.Length + chunk.Length)
                    && streams.All(s => s.Connection.Peek(s.Stream) is { EndedByServer: false } or { GrpcStatus: "8" }),
                "the server neither held nor refused every incomplete message");
            Assert.InRange(harness.Server.Counters.PeakBufferedRequestBytes, 1, total);
            Assert.InRange(harness.Server.Counters.BufferedRequestBytes, 1, total);
            Assert.Contains(streams, s => s.Connection.Peek(s.Stream).GrpcMessage?.Contains("incomplete requests", StringComparison.Ordinal) == true);

            // A valid call still succeeds while the flood is held.
            var options2 = await harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());
            Assert.NotNull(options2);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        await ServerHarness.SettlesAsync(
            () => harness.Server.Counters is { BufferedRequestBytes: 0, ActiveStreams: 0, OpenConnections: <= 1 },
            "buffered bytes, streams or connections did not return to idle after the flood stopped");
    }

    [Theory]
    [InlineData("99999999n")]
    [InlineData("99999999u")]
    [InlineData("99999999m")]
    [InlineData("99999999S")]
    [InlineData("99999999M")]
    [InlineData("99999999H")]
    [InlineData("69900000H")]
    public async Task Deadline_LargestTimeoutInEveryUnit_CallSucceedsWithGrpcStatus(string timeout)
    {
        // The server clock stands still, so even 99999999n (0.1 s) cannot expire during the call.
        await using var harness = await ServerHarness.StartAsync(new InteropTestService().Map(), timeProvider: new ManualTimeProvider());
        using var raw = new RawHttp2Client(harness.SocketPath);

        var response = await raw.PostAsync(OptionsPath, GrpcFraming.Frame(new Empty()), headers: new Dictionary<string, string> { ["grpc-timeout"] = timeout });

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal("0", response.GrpcStatus);
    }

    [Fact]
    public async Task Cancellation_ResetMidBody_NoErrorLogged()
    {
        var logs = new RecordingLoggerFactory();
        await using var harness = await ServerHarness.StartAsync(new CountingService(holdListAndWatchOpen: true).Map(), loggerFactory: logs);
        await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);

        for (var i = 0; i < 20; i++)
        {
            var stream = await connection.StartCallAsync(AllocatePath);
            await connection.WriteDataAsync(stream, AllocateBody()[..7]);
            await connection.ResetAsync(stream);
        }

        var probe = await connection.CallAsync(AllocatePath, AllocateBody());
        Assert.Equal("0", (await connection.WaitForEndAsync(probe)).GrpcStatus);
        await ServerHarness.SettlesAsync(() => harness.Server.Counters.ActiveStreams == 0, "reset streams were never freed");
        AssertNoErrors(logs.Logger);
    }

    [Fact]
    public async Task Cancellation_ConnectionClosedMidRequest_NoErrorLogged()
    {
        var logs = new RecordingLoggerFactory();
        await using var harness = await ServerHarness.StartAsync(new CountingService(holdListAndWatchOpen: true).Map(), loggerFactory: logs);

        for (var i = 0; i < 20; i++)
        {
            await using var connection = await RawHttp2Connection.ConnectAsync(harness.SocketPath);
            var stream = await connection.StartCallAsync(AllocatePath);
            await connection.WriteDataAsync(stream, AllocateBody()[..7]);
            await ServerHarness.SettlesAsync(() => harness.Server.Counters.BufferedRequestBytes > 0, "the partial request never reached the server");
        }

        await ServerHarness.SettlesAsync(() => harness.Server.Counters is { ActiveStreams: 0, OpenConnections: 0 }, "closed connections were never freed");
        AssertNoErrors(logs.Logger);
    }

    private static void AssertNoErrors(RecordingLogger logger)
    {
        var errors = logger.Entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message).ToList();
        Assert.True(errors.Count == 0, "logged: " + string.Join(" | ", errors));
    }

    private static ListAndWatchResponse DeviceList(int n)
    {
        var message = new ListAndWatchResponse();
        for (var i = 0; i < n; i++)
        {
            message.Devices.Add(new Device { ID = $"GPU-{i}", Health = "Healthy", Topology = new TopologyInfo { Nodes = { new NUMANode { ID = i } } } });
        }

        return message;
    }

    /// <summary>
    /// Moves the server clock a second at a time until the stream ends. Nothing says when the server has set
    /// its timer, so it keeps advancing, but gives up on real time so a stream that never ends fails the test.
    /// </summary>
    private static async Task<RawHttp2Connection.StreamOutcome> AdvanceUntilEndedAsync(ManualTimeProvider clock, RawHttp2Connection connection, int stream)
    {
        var ended = connection.WaitForEndAsync(stream);
        var waited = Stopwatch.StartNew();
        while (!ended.IsCompleted)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "the stream did not end although the server clock kept passing the body timeout");
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(ended, Task.Delay(10));
        }

        return await ended;
    }
}
