using System.Buffers;
using System.IO.Pipelines;
using GpuDaemon.GrpcWire;
using GpuDaemon.GrpcWire.Internal;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using Google.Protobuf;

namespace GpuDaemon.Tests.GrpcWire;

public sealed class GrpcFramingTests
{
    private static AllocateRequest Request(params string[] ids) =>
        new() { ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } } };

    [Fact]
    public async Task ReadMessageAsync_MessageSplitAcrossManyWrites_ReassemblesIt()
    {
        var framed = GrpcFraming.Frame(Request("GPU-a", "GPU-b"));
        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            foreach (var b in framed)
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }

            await pipe.Writer.CompleteAsync();
        });

        var message = await GrpcFraming.ReadMessageAsync(pipe.Reader, AllocateRequest.Parser, GrpcLimits.DefaultMaxReceiveMessageBytes, default);
        await writer;

        Assert.Equal(Request("GPU-a", "GPU-b"), message);
    }

    [Fact]
    public async Task ReadMessageAsync_SeveralMessagesInOneWrite_ReadsEachInOrder()
    {
        var both = GrpcFraming.Frame(Request("one")).Concat(GrpcFraming.Frame(Request("two"))).ToArray();
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(both));

        var first = await GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default);
        var second = await GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default);
        var end = await GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default);

        Assert.Equal("one", first!.ContainerRequests[0].DevicesIds[0]);
        Assert.Equal("two", second!.ContainerRequests[0].DevicesIds[0]);
        Assert.Null(end);
    }

    [Fact]
    public async Task ReadMessageAsync_EmptyMessage_ParsesAsDefault()
    {
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(GrpcFraming.Frame(new Empty())));

        var message = await GrpcFraming.ReadMessageAsync(reader, Empty.Parser, 1024, default);

        Assert.Equal(new Empty(), message);
    }

    [Fact]
    public async Task ReadMessageAsync_LengthOverLimit_ThrowsResourceExhaustedBeforeReadingPayload()
    {
        // Only the 5-byte header is there: the limit must be enforced without waiting for 5 MiB.
        var header = new byte[] { 0, 0, 0x50, 0, 0 };
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(header);

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, Empty.Parser, GrpcLimits.DefaultMaxReceiveMessageBytes, default).AsTask());

        Assert.Equal(GrpcStatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("5242880", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadMessageAsync_CompressedFlagWithoutEncoding_ThrowsInternal()
    {
        var framed = GrpcFraming.Frame(Request("x"));
        framed[0] = 1;
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(framed));

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("compressed", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadMessageAsync_StreamEndsInsideMessage_ThrowsInternal()
    {
        var framed = GrpcFraming.Frame(Request("GPU-a"));
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(framed.AsMemory(0, framed.Length - 2)));

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task ReadMessageAsync_GarbagePayload_ThrowsInternalNamingTheType()
    {
        byte[] framed = [0, 0, 0, 0, 3, 0xff, 0xff, 0xff];
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(framed));

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadMessageAsync(reader, AllocateRequest.Parser, 1024, default).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains(nameof(AllocateRequest), ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadSingleMessageAsync_StreamStillOpenAfterMessage_ReturnsOnlyOnceItEnds()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcFraming.Frame(Request("GPU-a")));

        var reading = GrpcFraming.ReadSingleMessageAsync(pipe.Reader, AllocateRequest.Parser, 1024, default).AsTask();
        var beforeEnd = reading.IsCompleted;
        await pipe.Writer.CompleteAsync();
        var message = await reading.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(beforeEnd);
        Assert.Equal(Request("GPU-a"), message);
    }

    [Fact]
    public async Task ReadSingleMessageAsync_StrayByteInLaterWrite_ThrowsInternal()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcFraming.Frame(Request("GPU-a")));

        var reading = GrpcFraming.ReadSingleMessageAsync(pipe.Reader, AllocateRequest.Parser, 1024, default).AsTask();
        await pipe.Writer.WriteAsync(new byte[] { 0 });
        var ex = await Assert.ThrowsAsync<RpcException>(() => reading.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
        Assert.Contains("additional data after the request message", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadSingleMessageAsync_NoMessageBeforeEnd_ThrowsInternal()
    {
        var reader = PipeReader.Create(new ReadOnlySequence<byte>(Array.Empty<byte>()));

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            GrpcFraming.ReadSingleMessageAsync(reader, AllocateRequest.Parser, 1024, default).AsTask());

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public void Frame_Message_WritesFlagAndBigEndianLength()
    {
        var message = Request("GPU-a");

        var framed = GrpcFraming.Frame(message);

        Assert.Equal(0, framed[0]);
        Assert.Equal(message.CalculateSize(), (framed[1] << 24) | (framed[2] << 16) | (framed[3] << 8) | framed[4]);
        Assert.Equal(message.ToByteArray(), framed[5..]);
    }

    /// <summary>
    /// Found by the wire fuzzer (seed 3852773, iteration 35353): a sub-message length varint that overflows to a
    /// negative int makes Google.Protobuf 3.25.1 throw IndexOutOfRangeException instead of its parse error.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x47, 0x50, 0x55, 0x2D })]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void ParseMessage_NegativeSubMessageLength_InternalRpcException(byte[] bytes)
    {
        var ex = Assert.Throws<RpcException>(() => GrpcFraming.ParseMessage(AllocateRequest.Parser, new System.Buffers.ReadOnlySequence<byte>(bytes)));

        Assert.Equal(GrpcStatusCode.Internal, ex.StatusCode);
    }
}
