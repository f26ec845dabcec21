using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>
/// gRPC length-prefixed messages: a compressed flag byte, a 4-byte big-endian length, then the bytes.
/// Message boundaries have nothing to do with HTTP/2 DATA frame boundaries, so reading works on a pipe.
/// </summary>
internal static class GrpcFraming
{
    /// <summary>
    /// Reads the next message, or returns null when the stream ends cleanly between messages.
    /// Oversized, compressed (no encoding is ever negotiated) and truncated messages become RpcExceptions.
    /// While it waits for the rest of a message, the bytes it holds count against <paramref name="lease"/>.
    /// </summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageBytes, CancellationToken cancellationToken, RequestBytesLease? lease = null)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (TryReadFrame(ref buffer, maxMessageBytes, out var payload))
            {
                T message;
                try
                {
                    message = ParseMessage(parser, payload);
                }
                catch (RpcException)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw;
                }

                reader.AdvanceTo(buffer.Start);
                return message;
            }

            if (result.IsCompleted)
            {
                var remaining = buffer.Length;
                reader.AdvanceTo(buffer.End);
                if (remaining == 0)
                {
                    return null;
                }

                throw new RpcException(GrpcStatusCode.Internal, $"stream ended inside a message ({remaining} bytes of a partial message received)");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            lease?.Hold(buffer.Length);
        }
    }

    /// <summary>
    /// Reads the one message of a request stream (unary and server-streaming calls take exactly one) and then
    /// the stream's end: a second message or any stray byte after the first fails the call, so a handler never
    /// acts on a request the client did not mean as a whole.
    /// </summary>
    public static async ValueTask<T> ReadSingleMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageBytes, CancellationToken cancellationToken, RequestBytesLease? lease = null)
        where T : class, IMessage<T>
    {
        var message = await ReadMessageAsync(reader, parser, maxMessageBytes, cancellationToken, lease)
            ?? throw new RpcException(GrpcStatusCode.Internal, "request stream ended before its message arrived");
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var extra = result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
            if (extra > 0)
            {
                throw new RpcException(GrpcStatusCode.Internal, "additional data after the request message; this method takes exactly one message");
            }

            if (result.IsCompleted)
            {
                return message;
            }

            // An empty read that is not the end only comes from CancelPendingRead: stop rather than spin.
            if (result.IsCanceled)
            {
                throw new OperationCanceledException("reading the request was cancelled", cancellationToken);
            }
        }
    }

    /// <summary>
    /// <see cref="ReadSingleMessageAsync"/> without waiting: true with the message when what is already buffered
    /// is exactly one whole message and the stream's end. Otherwise nothing is consumed (the async read takes the
    /// same bytes again), except that a message that is already wrong fails here as the async read would fail it.
    /// </summary>
    public static bool TryReadSingleMessage<T>(PipeReader reader, MessageParser<T> parser, int maxMessageBytes, out T message)
        where T : class, IMessage<T>
    {
        message = null!;
        ReadResult result;
        try
        {
            if (!reader.TryRead(out result))
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // A transport failure: ReadSingleMessageAsync meets it again, and its caller reports the client gone.
            return false;
        }

        var buffer = result.Buffer;
        if (!result.IsCompleted || result.IsCanceled)
        {
            reader.AdvanceTo(buffer.Start);
            return false;
        }

        try
        {
            if (!TryReadFrame(ref buffer, maxMessageBytes, out var payload) || !buffer.IsEmpty)
            {
                // A partial message, or more than one: ReadSingleMessageAsync reads it to its documented error.
                reader.AdvanceTo(result.Buffer.Start);
                return false;
            }

            message = ParseMessage(parser, payload);
        }
        catch (RpcException)
        {
            reader.AdvanceTo(result.Buffer.End);
            throw;
        }

        reader.AdvanceTo(buffer.End);
        return true;
    }

    /// <summary>
    /// Parses a peer's message bytes; any failure is INTERNAL with a one-line message. Google.Protobuf reports
    /// malformed input as InvalidProtocolBufferException, but a sub-message length varint that overflows to a negative int makes it throw
    /// IndexOutOfRangeException (found by the wire fuzzer), so those count as malformed input too rather
    /// than as a handler failure.
    /// </summary>
    public static T ParseMessage<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : class, IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IndexOutOfRangeException or ArgumentException)
        {
            throw new RpcException(GrpcStatusCode.Internal, $"cannot parse {typeof(T).Name} message: {ex.Message}");
        }
    }

    /// <summary>Takes one whole frame off the front of <paramref name="buffer"/> if it is all there.</summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageBytes, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < GrpcProtocol.FrameHeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[GrpcProtocol.FrameHeaderLength];
        buffer.Slice(0, GrpcProtocol.FrameHeaderLength).CopyTo(header);
        var flag = header[0];
        if (flag == 1)
        {
            throw new RpcException(GrpcStatusCode.Internal, "message is marked compressed but no grpc-encoding was negotiated");
        }

        if (flag != 0)
        {
            throw new RpcException(GrpcStatusCode.Internal, $"invalid message flag {flag} (expected 0)");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageBytes)
        {
            throw new RpcException(GrpcStatusCode.ResourceExhausted, $"message of {length} bytes exceeds the {maxMessageBytes}-byte limit");
        }

        if (buffer.Length < GrpcProtocol.FrameHeaderLength + length)
        {
            return false;
        }

        payload = buffer.Slice(GrpcProtocol.FrameHeaderLength, length);
        buffer = buffer.Slice(GrpcProtocol.FrameHeaderLength + length);
        return true;
    }

    /// <summary>Writes one framed message to <paramref name="writer"/> (without flushing).</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var span = writer.GetSpan(GrpcProtocol.FrameHeaderLength + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span.Slice(GrpcProtocol.FrameHeaderLength, size));
        writer.Advance(GrpcProtocol.FrameHeaderLength + size);
    }

    /// <summary>One framed message as a byte array, for request bodies.</summary>
    public static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var bytes = new byte[GrpcProtocol.FrameHeaderLength + size];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)size);
        message.WriteTo(bytes.AsSpan(GrpcProtocol.FrameHeaderLength));
        return bytes;
    }
}
