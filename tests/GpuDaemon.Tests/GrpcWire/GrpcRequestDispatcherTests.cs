using System.IO.Pipelines;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.GrpcWire;

/// <summary>
/// The dispatcher on a hand-built request, for orderings a real connection produces only sometimes: the
/// transport failing a read or write before it has set RequestAborted.
/// </summary>
public sealed class GrpcRequestDispatcherTests
{
    public static TheoryData<string> TransportFailures => ["io", "reset", "aborted", "cancelled"];

    [Theory]
    [MemberData(nameof(TransportFailures))]
    public async Task DispatchAsync_ReadFailsBeforeRequestAborted_LoggedAsCancellationNotError(string failure)
    {
        var logger = new RecordingLogger();
        var calls = 0;
        var services = new GrpcServiceMap().MapUnary(DevicePluginApi.Allocate, (_, _) =>
        {
            calls++;
            return Task.FromResult(new AllocateResponse());
        });
        var context = Request("/v1beta1.DevicePlugin/Allocate", new FailingPipeReader(Failure(failure)));

        await Dispatcher(services, logger).DispatchAsync(context);

        AssertLoggedAsCancellation(logger);
        Assert.Equal(0, calls);
    }

    [Theory]
    [MemberData(nameof(TransportFailures))]
    public async Task DispatchAsync_WriteFailsBeforeRequestAborted_LoggedAsCancellationNotError(string failure)
    {
        var logger = new RecordingLogger();
        var services = new GrpcServiceMap().MapServerStreaming(DevicePluginApi.ListAndWatch, (_, writer, call) =>
            writer.WriteAsync(new ListAndWatchResponse(), call.CancellationToken));
        var body = new Pipe();
        await body.Writer.WriteAsync(GrpcFraming.Frame(new Empty()));
        await body.Writer.CompleteAsync();
        var context = Request("/v1beta1.DevicePlugin/ListAndWatch", body.Reader);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(new FailingStream(Failure(failure))));

        await Dispatcher(services, logger).DispatchAsync(context);

        AssertLoggedAsCancellation(logger);
    }

    [Fact]
    public async Task DispatchAsync_HandlerThrowsIOExceptionOfItsOwn_StillAnError()
    {
        var logger = new RecordingLogger();
        var services = new GrpcServiceMap().MapUnary(DevicePluginApi.Allocate, (_, _) =>
            Task.FromException<AllocateResponse>(new IOException("disk on fire")));
        var body = new Pipe();
        await body.Writer.WriteAsync(GrpcFraming.Frame(new AllocateRequest()));
        await body.Writer.CompleteAsync();
        var context = Request("/v1beta1.DevicePlugin/Allocate", body.Reader);

        await Dispatcher(services, logger).DispatchAsync(context);

        Assert.Equal("13", context.Response.Headers["grpc-status"].ToString());
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
    }

    /// <summary>
    /// The Allocate hot path's budget through the wire layer (routing, the read, the call context, the write, the
    /// status): what is left is the request message's own objects and the call context. A timer, a linked token,
    /// a lease or an async state machine per call would each break it (measured: 624 bytes).
    /// </summary>
    private const long WireBytesPerUnaryCall = 768;

    [Fact]
    public void DispatchAsync_UnaryRequestAlreadyBuffered_CompletesAtOnceWithinTheAllocationBudget()
    {
        var answer = new AllocateResponse { ContainerResponses = { new ContainerAllocateResponse { Envs = { ["NVIDIA_VISIBLE_DEVICES"] = "GPU-0" } } } };
        var services = new GrpcServiceMap().MapUnary(DevicePluginApi.Allocate, (_, _) => Task.FromResult(answer));
        var dispatcher = Dispatcher(services, new RecordingLogger());
        var frame = GrpcFraming.Frame(new AllocateRequest { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { "GPU-0" } } } });
        const int Calls = 50;
        long allocated = 0;

        for (var i = 0; i < Calls + 5; i++)
        {
            var context = BufferedRequest("/v1beta1.DevicePlugin/Allocate", frame);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var dispatching = dispatcher.DispatchAsync(context);
            var after = GC.GetAllocatedBytesForCurrentThread();

            Assert.True(dispatching.IsCompletedSuccessfully, "the call waited although its request was buffered");
            Assert.Equal("0", context.Response.Headers["grpc-status"].ToString());
            if (i >= 5)
            {
                allocated += after - before;
            }
        }

        Assert.InRange(allocated / Calls, 1, WireBytesPerUnaryCall);
    }

    /// <summary>A request whose whole body (one frame and its end) is buffered, with the response side warmed up.</summary>
    private static DefaultHttpContext BufferedRequest(string path, byte[] frame)
    {
        var body = new Pipe();
        body.Writer.WriteAsync(frame).AsTask().GetAwaiter().GetResult();
        body.Writer.Complete();
        var context = Request(path, body.Reader);
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        context.Response.Headers["warm"] = "1";
        context.Response.Headers.Remove("warm");
        _ = context.Response.BodyWriter.GetSpan(64);
        return context;
    }

    private static Exception Failure(string kind) => kind switch
    {
        "io" => new IOException("The client reset the request stream."),
        "reset" => new ConnectionResetException("Connection reset by peer"),
        "aborted" => new ConnectionAbortedException("The connection was aborted"),
        _ => new OperationCanceledException("The operation was canceled."),
    };

    private static void AssertLoggedAsCancellation(RecordingLogger logger)
    {
        Assert.DoesNotContain(logger.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Contains(logger.Entries, e => e.EventId.Id == 1004 && e.Level == LogLevel.Debug);
    }

    private static GrpcRequestDispatcher Dispatcher(GrpcServiceMap services, ILogger logger) =>
        new(services, new GrpcServerOptions(), TimeProvider.System, new GrpcServerCounters(), logger, CancellationToken.None);

    private static DefaultHttpContext Request(string path, PipeReader body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = path;
        context.Request.ContentType = "application/grpc";
        context.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(body));
        return context;
    }

    private sealed class BodyPipe(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    private sealed class FailingPipeReader(Exception failure) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) => ValueTask.FromException<ReadResult>(failure);

        public override bool TryRead(out ReadResult result) => throw failure;

        public override void AdvanceTo(SequencePosition consumed)
        {
        }

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
        }

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }

    private sealed class FailingStream(Exception failure) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => 0;

        public override long Position { get; set; }

        public override void Flush() => throw failure;

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.FromException(failure);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw failure;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException(failure);
    }
}
