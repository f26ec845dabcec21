using System.Diagnostics;
using System.Text;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.GrpcWire;

/// <summary>
/// Batches of hostile input from a frame-level HTTP/2 client against a running server. After every batch a
/// valid call still succeeds, every stream got a gRPC status or an HTTP/2-level end, and the server's open
/// connections, streams and buffered bytes are back at idle. One batch by default; with
/// GPUDAEMON_RELIABILITY=long, many, each with fresh random content.
/// </summary>
public sealed class GrpcHostileInputTests
{
    private const string AllocatePath = "/v1beta1.DevicePlugin/Allocate";
    private const string OptionsPath = "/v1beta1.DevicePlugin/GetDevicePluginOptions";

    private static bool Long => string.Equals(Environment.GetEnvironmentVariable("GPUDAEMON_RELIABILITY"), "long", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public async Task Server_HostileBatches_EveryAnswerProperAndServerReturnsToIdle()
    {
        var seed = Environment.TickCount;
        var batches = Long ? 40 : 1;
        var clock = new ManualTimeProvider();
        var service = new CountingService(holdListAndWatchOpen: true);
        await using var harness = await ServerHarness.StartAsync(service.Map(), timeProvider: clock);
        for (var batch = 0; batch < batches; batch++)
        {
            var random = new Random(seed + batch);
            try
            {
                await RunBatchAsync(harness, clock, random);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidOperationException($"hostile batch {batch} (seed {seed + batch}) failed: {ex.Message}", ex);
            }

            var options = await harness.Client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty());
            Assert.True(options.PreStartRequired);
            await ServerHarness.SettlesAsync(
                () => harness.Server.Counters is { ActiveStreams: 0, BufferedRequestBytes: 0 },
                $"after batch {batch} the server did not return to idle: {harness.Server.Counters.ActiveStreams} streams, {harness.Server.Counters.BufferedRequestBytes} buffered bytes");

            // Only the harness client's connection is left: every hostile one is gone, including a rapid-reset one
            // whose processing Kestrel never ends (see GrpcServerLimitsTests' reset-burst test).
            await ServerHarness.SettlesAsync(
                () => harness.Server.Counters.OpenConnections <= 1,
                $"after batch {batch} {harness.Server.Counters.OpenConnections} connections are still open");
        }
    }

    private static async Task RunBatchAsync(ServerHarness harness, ManualTimeProvider clock, Random random)
    {
        var socket = harness.SocketPath;
        var checks = new List<(string Case, RawHttp2Connection Connection, int Stream)>();
        var connections = new List<RawHttp2Connection>();
        async Task<RawHttp2Connection> Open(bool preface = true)
        {
            var connection = await RawHttp2Connection.ConnectAsync(socket, preface);
            connections.Add(connection);
            return connection;
        }

        async Task Expect(string name, byte[] body, IEnumerable<(string, string)>? headers = null, string path = AllocatePath)
        {
            var connection = await Open();
            checks.Add((name, connection, await connection.CallAsync(path, body, headers)));
        }

        // Connection-level garbage: the server must close (with or without GOAWAY), never hang or crash.
        var closers = new List<(string Case, RawHttp2Connection Connection)>();
        async Task ExpectClosed(string name, Func<RawHttp2Connection, Task> send, bool preface = true)
        {
            var connection = await Open(preface);
            await send(connection);
            closers.Add((name, connection));
        }

        await ExpectClosed("random bytes", c => c.WriteRawAsync(Bytes(random, 4096)), preface: false);
        await ExpectClosed("bad preface", c => c.WriteRawAsync("PRI * HTTP/3.0\r\n\r\nSM\r\n\r\n"u8.ToArray()), preface: false);
        await ExpectClosed("HTTP/1.1", c => c.WriteRawAsync("POST /v1beta1.DevicePlugin/Allocate HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()), preface: false);
        await ExpectClosed("DATA on stream 0", c => c.WriteFrameAsync(RawHttp2Connection.Data, 0, 0, new byte[8]));
        await ExpectClosed("frame over max size", c => c.WriteFrameAsync(RawHttp2Connection.Data, 0, 1, new byte[8], declaredLength: 0xFFFFFF));
        await ExpectClosed("garbage HPACK", c => c.WriteFrameAsync(RawHttp2Connection.Headers, RawHttp2Connection.EndHeaders, 1, Bytes(random, 64)));
        await ExpectClosed("SETTINGS of 5 bytes", c => c.WriteFrameAsync(RawHttp2Connection.Settings, 0, 0, new byte[5]));
        await ExpectClosed("zero WINDOW_UPDATE", c => c.WriteFrameAsync(RawHttp2Connection.WindowUpdate, 0, 0, new byte[4]));
        await ExpectClosed("even stream id", c => c.WriteFrameAsync(RawHttp2Connection.Headers, RawHttp2Connection.EndHeaders, 2, RawHttp2Connection.RequestHeaderBlock(AllocatePath)));
        await ExpectClosed("CONTINUATION flood", async c =>
        {
            var id = c.NextStreamId();
            await c.WriteFrameAsync(RawHttp2Connection.Headers, 0, id, RawHttp2Connection.RequestHeaderBlock(AllocatePath));
            var filler = new List<byte>();
            RawHttp2Connection.AppendLiteral(filler, "x-flood", new string('f', 8000));
            for (var i = 0; i < 64; i++)
            {
                await c.WriteFrameAsync(RawHttp2Connection.Continuation, 0, id, filler.ToArray());
            }
        });

        // Request-level hostility: each stream must end with a gRPC status or RST_STREAM/GOAWAY.
        await Expect("4 GiB declared length", [0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3]);
        await Expect("garbage protobuf", [0, .. BigEndian(256), .. Bytes(random, 256)]);
        await Expect("deeply nested protobuf", Frame(NestedGroups(random.Next(150, 5000))));
        await Expect("compressed flag", [1, .. GrpcFraming.Frame(new AllocateRequest()).AsSpan(1)]);
        await Expect("unknown flag", [(byte)random.Next(2, 256), 0, 0, 0, 0]);
        await Expect("trailing data", [.. GrpcFraming.Frame(new AllocateRequest()), .. Bytes(random, random.Next(1, 10))]);
        await Expect("two messages", [.. GrpcFraming.Frame(new AllocateRequest()), .. GrpcFraming.Frame(new AllocateRequest())]);
        await Expect("truncated message", GrpcFraming.Frame(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "a", "b" } } } })[..^2]);
        await Expect("empty body", []);
        await Expect("oversized grpc-timeout", GrpcFraming.Frame(new Empty()), [("grpc-timeout", "999999999S")], OptionsPath);
        await Expect("largest grpc-timeout", GrpcFraming.Frame(new Empty()), [("grpc-timeout", "99999999H")], OptionsPath);
        await Expect("garbage grpc-timeout", GrpcFraming.Frame(new Empty()), [("grpc-timeout", Encoding.ASCII.GetString(Bytes(random, 6, printable: true)))], OptionsPath);
        await Expect("gzip encoding", GrpcFraming.Frame(new Empty()), [("grpc-encoding", "gzip")], OptionsPath);
        await Expect("unknown method", GrpcFraming.Frame(new Empty()), path: "/no.Such/Method");
        await Expect("header flood", GrpcFraming.Frame(new Empty()), Enumerable.Range(0, 120).Select(i => ($"x-h{i}", new string('v', 100))), OptionsPath);
        await Expect("huge header", GrpcFraming.Frame(new Empty()), [("x-big", new string('v', 15_000))], OptionsPath);

        // Incomplete bodies: answered once the request-body deadline passes on the server clock.
        foreach (var partial in new[] { Array.Empty<byte>(), [0, 0, 0], [0, 0, 0, 1, 0, 7, 7] })
        {
            var connection = await Open();
            var stream = await connection.StartCallAsync(AllocatePath);
            if (partial.Length > 0)
            {
                await connection.WriteDataAsync(stream, partial);
            }

            checks.Add(($"incomplete body of {partial.Length} bytes", connection, stream));
        }

        // Rapid reset, PING and SETTINGS floods: the connection may be closed for it, or may keep serving.
        var floods = new List<(string Case, RawHttp2Connection Connection)>();
        var rapid = await Open();
        for (var i = 0; i < 500; i++)
        {
            var id = await rapid.StartCallAsync(AllocatePath);
            await rapid.ResetAsync(id);
        }

        floods.Add(("rapid reset", rapid));
        var pings = await Open();
        for (var i = 0; i < 2000; i++)
        {
            await pings.WriteFrameAsync(RawHttp2Connection.Ping, 0, 0, new byte[8]);
        }

        floods.Add(("PING flood", pings));
        var settings = await Open();
        for (var i = 0; i < 2000; i++)
        {
            await settings.WriteFrameAsync(RawHttp2Connection.Settings, 0, 0, new byte[] { 0, 3, 0, 0, 0, 10 });
        }

        floods.Add(("SETTINGS flood", settings));

        try
        {
            foreach (var (name, connection) in closers)
            {
                await connection.Closed.WaitAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            }

            var waited = Stopwatch.StartNew();
            while (!checks.All(c => c.Connection.Peek(c.Stream).EndedByServer || c.Connection.Closed.IsCompleted))
            {
                var open = checks.Where(c => !c.Connection.Peek(c.Stream).EndedByServer && !c.Connection.Closed.IsCompleted).Select(c => c.Case);
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "no answer to: " + string.Join(", ", open));
                clock.Advance(TimeSpan.FromSeconds(1));
                await Task.WhenAny(Task.WhenAll(checks.Select(c => c.Connection.WaitForEndAsync(c.Stream))), Task.Delay(10));
            }

            foreach (var (name, connection, stream) in checks)
            {
                var outcome = connection.Peek(stream);
                // Kestrel refuses more headers than its limits with HTTP 431 before the gRPC layer sees the call;
                // gRPC clients map that status to one of theirs, as the gRPC HTTP/2 spec says.
                Assert.True(outcome.IsProperEnd || (name.StartsWith("header", StringComparison.Ordinal) && outcome.HttpStatus == "431"), $"{name}: {outcome}");
                Assert.True(outcome.GrpcStatus is null || outcome.HttpStatus == "200", $"{name}: {outcome}");
            }

            foreach (var (name, connection) in floods)
            {
                if (connection.Closed.IsCompleted)
                {
                    continue;
                }

                var call = await connection.CallAsync(OptionsPath, GrpcFraming.Frame(new Empty()));
                var outcome = await connection.WaitForEndAsync(call);
                Assert.True(outcome.GrpcStatus == "0" || outcome.ConnectionClosed || outcome.ResetError is not null, $"{name}, then a valid call: {outcome}");
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Unknown field 15 as start-group tags nested <paramref name="depth"/> deep, then their end tags.</summary>
    private static byte[] NestedGroups(int depth) => [.. Enumerable.Repeat((byte)((15 << 3) | 3), depth), .. Enumerable.Repeat((byte)((15 << 3) | 4), depth)];

    private static byte[] Frame(byte[] message) => [0, .. BigEndian(message.Length), .. message];

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    private static byte[] Bytes(Random random, int count, bool printable = false)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        if (printable)
        {
            for (var i = 0; i < count; i++)
            {
                bytes[i] = (byte)(0x21 + (bytes[i] % 0x5E));
            }
        }

        return bytes;
    }
}
