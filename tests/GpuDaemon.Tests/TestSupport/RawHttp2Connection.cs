using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// An HTTP/2 connection at the frame level, for what no HTTP client library lets a test send: HEADERS with
/// no DATA, RST_STREAM mid-body, malformed frames, floods, bytes that are not HTTP/2 at all. It reads the
/// server's frames in the background and records, per stream, how the server answered.
/// Header blocks are sent as literals without Huffman coding; the server's are decoded with the static
/// table and a dynamic table (Kestrel does not Huffman-code what it sends).
/// </summary>
public sealed class RawHttp2Connection : IAsyncDisposable
{
    public const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8, Continuation = 0x9;
    public const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<int, StreamState> _streams = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(string Name, string Value)> _dynamicTable = [];
    private readonly Task _reading;
    private int _dynamicTableLimit = 4096;
    private int _nextStreamId = 1;

    private RawHttp2Connection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reading = Task.Run(ReadLoopAsync);
    }

    /// <summary>Completes when the server closed the connection (after a GOAWAY or not).</summary>
    public Task Closed => _closed.Task;

    /// <summary>The error code of the server's GOAWAY, if it sent one.</summary>
    public int? GoAwayError { get; private set; }

    /// <summary>Connects and, unless told not to, sends the client preface and an empty SETTINGS frame.</summary>
    public static async Task<RawHttp2Connection> ConnectAsync(string socketPath, bool sendPreface = true)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new RawHttp2Connection(socket);
        if (sendPreface)
        {
            await connection.WriteRawAsync(Preface);
            await connection.WriteFrameAsync(Settings, 0, 0, Array.Empty<byte>());
        }

        return connection;
    }

    public int NextStreamId()
    {
        var id = _nextStreamId;
        _nextStreamId += 2;
        return id;
    }

    /// <summary>Opens a gRPC request on a new stream: HEADERS for a POST to <paramref name="path"/>.</summary>
    public async Task<int> StartCallAsync(string path, bool endStream = false, IEnumerable<(string, string)>? extraHeaders = null)
    {
        var id = NextStreamId();
        await WriteFrameAsync(Headers, (byte)(EndHeaders | (endStream ? EndStream : 0)), id, RequestHeaderBlock(path, extraHeaders));
        return id;
    }

    /// <summary>A whole call: HEADERS, then <paramref name="body"/> in DATA frames, the last ending the stream.</summary>
    public async Task<int> CallAsync(string path, byte[] body, IEnumerable<(string, string)>? extraHeaders = null)
    {
        var id = await StartCallAsync(path, extraHeaders: extraHeaders);
        await WriteDataAsync(id, body, endStream: true);
        return id;
    }

    public static byte[] RequestHeaderBlock(string path, IEnumerable<(string, string)>? extraHeaders = null)
    {
        var block = new List<byte>();
        foreach (var (name, value) in new[]
                 {
                     (":method", "POST"), (":scheme", "http"), (":authority", "localhost"), (":path", path),
                     ("content-type", "application/grpc"), ("te", "trailers"),
                 }.Concat(extraHeaders ?? []))
        {
            AppendLiteral(block, name, value);
        }

        return [.. block];
    }

    /// <summary>A literal header field without indexing, new name, no Huffman coding.</summary>
    public static void AppendLiteral(List<byte> block, string name, string value)
    {
        block.Add(0);
        AppendString(block, Encoding.ASCII.GetBytes(name));
        AppendString(block, Encoding.ASCII.GetBytes(value));
    }

    /// <summary>Sends <paramref name="data"/> in DATA frames of at most the default 16 KiB frame size.</summary>
    public async Task WriteDataAsync(int streamId, byte[] data, bool endStream = false)
    {
        const int maxFrame = 16 * 1024;
        var offset = 0;
        do
        {
            var length = Math.Min(maxFrame, data.Length - offset);
            var last = offset + length == data.Length;
            await WriteFrameAsync(Data, last && endStream ? EndStream : (byte)0, streamId, data.AsMemory(offset, length));
            offset += length;
        }
        while (offset < data.Length);
    }

    public Task ResetAsync(int streamId, int errorCode = 0x8) =>
        WriteFrameAsync(RstStream, 0, streamId, BigEndian(errorCode));

    public Task WriteFrameAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload, int? declaredLength = null) =>
        WriteRawAsync(Frame(type, flags, streamId, payload.Span, declaredLength));

    /// <summary>
    /// Opens <paramref name="count"/> calls and resets each at once (HEADERS then RST_STREAM CANCEL), all in one
    /// write, so that the server reads the whole burst together. Returns the last stream ID used.
    /// </summary>
    public async Task<int> ResetBurstAsync(string path, int count)
    {
        var block = RequestHeaderBlock(path);
        var burst = new List<byte>();
        var id = 0;
        for (var i = 0; i < count; i++)
        {
            id = NextStreamId();
            burst.AddRange(Frame(Headers, EndHeaders, id, block));
            burst.AddRange(Frame(RstStream, 0, id, BigEndian(0x8)));
        }

        await WriteRawAsync(burst.ToArray());
        return id;
    }

    /// <summary>One frame's bytes: the 9-byte header (with <paramref name="declaredLength"/> if given) and the payload.</summary>
    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload, int? declaredLength = null)
    {
        var frame = new byte[9 + payload.Length];
        var length = declaredLength ?? payload.Length;
        frame[0] = (byte)(length >> 16);
        frame[1] = (byte)(length >> 8);
        frame[2] = (byte)length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId & int.MaxValue);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>Writes bytes as they are; a write to a connection the server closed is ignored (the test checks outcomes).</summary>
    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// How the server ended <paramref name="streamId"/>: its response headers and trailers, RST_STREAM, or the
    /// connection's end. Fails the test if none of those comes within <paramref name="timeout"/>.
    /// </summary>
    public async Task<StreamOutcome> WaitForEndAsync(int streamId, TimeSpan? timeout = null)
    {
        var state = State(streamId);
        var ended = await Task.WhenAny(state.Ended.Task, _closed.Task).WaitAsync(timeout ?? TimeSpan.FromSeconds(20));
        return state.Outcome(connectionClosed: ended == _closed.Task && !state.Ended.Task.IsCompleted);
    }

    /// <summary>What the server has sent on <paramref name="streamId"/> so far, without waiting.</summary>
    public StreamOutcome Peek(int streamId) => State(streamId).Outcome(connectionClosed: _closed.Task.IsCompleted);

    /// <summary>Completes when the server has sent response HEADERS (not trailers-only) on the stream.</summary>
    public Task ResponseStarted(int streamId) => State(streamId).Started.Task;

    /// <summary>Completes when DATA totalling at least <paramref name="bytes"/> arrived on the stream.</summary>
    public Task DataReceived(int streamId, int bytes) => State(streamId).WaitForData(bytes);

    public async ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        await _stream.DisposeAsync();
        await _reading;
        _writeLock.Dispose();
    }

    private StreamState State(int streamId) => _streams.GetOrAdd(streamId, _ => new StreamState());

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                await _stream.ReadExactlyAsync(header);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var type = header[3];
                var flags = header[4];
                var streamId = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
                var payload = new byte[length];
                await _stream.ReadExactlyAsync(payload);
                await OnFrameAsync(type, flags, streamId, payload);
            }
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    private async Task OnFrameAsync(byte type, byte flags, int streamId, byte[] payload)
    {
        switch (type)
        {
            case Settings when (flags & Ack) == 0:
                await WriteFrameAsync(Settings, Ack, 0, Array.Empty<byte>());
                break;
            case Ping when (flags & Ack) == 0:
                await WriteFrameAsync(Ping, Ack, 0, payload);
                break;
            case GoAway:
                GoAwayError = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4));
                break;
            case Headers:
                {
                    var offset = 0;
                    var end = payload.Length;
                    if ((flags & 0x8) != 0)
                    {
                        end -= payload[0];
                        offset = 1;
                    }

                    if ((flags & 0x20) != 0)
                    {
                        offset += 5;
                    }

                    State(streamId).OnHeaders(Decode(payload.AsSpan(offset, end - offset)), (flags & EndStream) != 0);
                    break;
                }

            case Data:
                State(streamId).OnData(payload.Length, (flags & EndStream) != 0);
                if (payload.Length > 0)
                {
                    // Keep the windows open so a long response (ListAndWatch) never stalls on flow control.
                    await WriteFrameAsync(WindowUpdate, 0, 0, BigEndian(payload.Length));
                    await WriteFrameAsync(WindowUpdate, 0, streamId, BigEndian(payload.Length));
                }

                break;
            case RstStream:
                State(streamId).OnReset(BinaryPrimitives.ReadInt32BigEndian(payload));
                break;
        }
    }

    private List<(string Name, string Value)> Decode(ReadOnlySpan<byte> block)
    {
        var headers = new List<(string, string)>();
        var i = 0;
        while (i < block.Length)
        {
            var b = block[i];
            if ((b & 0x80) != 0)
            {
                headers.Add(Entry(ReadInt(block, ref i, 7)));
            }
            else if ((b & 0xE0) == 0x20)
            {
                _dynamicTableLimit = ReadInt(block, ref i, 5);
                Evict();
            }
            else
            {
                var incremental = (b & 0xC0) == 0x40;
                var index = ReadInt(block, ref i, incremental ? 6 : 4);
                var name = index == 0 ? ReadString(block, ref i) : Entry(index).Name;
                var value = ReadString(block, ref i);
                headers.Add((name, value));
                if (incremental)
                {
                    _dynamicTable.Insert(0, (name, value));
                    Evict();
                }
            }
        }

        return headers;
    }

    /// <summary>Drops the oldest entries until the table fits its size (RFC 7541: name + value + 32 per entry).</summary>
    private void Evict()
    {
        while (_dynamicTable.Sum(e => e.Name.Length + e.Value.Length + 32) > _dynamicTableLimit)
        {
            _dynamicTable.RemoveAt(_dynamicTable.Count - 1);
        }
    }

    private (string Name, string Value) Entry(int index) =>
        index <= StaticTable.Length ? StaticTable[index - 1] : _dynamicTable[index - StaticTable.Length - 1];

    private static int ReadInt(ReadOnlySpan<byte> block, ref int i, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        var value = block[i++] & max;
        if (value < max)
        {
            return value;
        }

        var shift = 0;
        byte b;
        do
        {
            b = block[i++];
            value += (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    private static string ReadString(ReadOnlySpan<byte> block, ref int i)
    {
        if ((block[i] & 0x80) != 0)
        {
            throw new NotSupportedException("the server sent a Huffman-coded header; this test client does not decode them");
        }

        var length = ReadInt(block, ref i, 7);
        var text = Encoding.ASCII.GetString(block.Slice(i, length));
        i += length;
        return text;
    }

    private static void AppendString(List<byte> block, byte[] bytes)
    {
        // A 7-bit prefix integer, H bit clear.
        var length = bytes.Length;
        if (length < 127)
        {
            block.Add((byte)length);
        }
        else
        {
            block.Add(127);
            length -= 127;
            while (length >= 128)
            {
                block.Add((byte)((length & 0x7F) | 0x80));
                length >>= 7;
            }

            block.Add((byte)length);
        }

        block.AddRange(bytes);
    }

    private static byte[] BigEndian(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    /// <summary>How a stream ended, as far as the client saw.</summary>
    public sealed record StreamOutcome(
        string? HttpStatus,
        string? GrpcStatus,
        string? GrpcMessage,
        int DataBytes,
        bool EndedByServer,
        int? ResetError,
        bool ConnectionClosed)
    {
        /// <summary>A gRPC status, or an HTTP/2-level end (RST_STREAM, or the connection closed).</summary>
        public bool IsProperEnd => GrpcStatus is not null || ResetError is not null || ConnectionClosed;

        public override string ToString() =>
            $"http {HttpStatus ?? "-"}, grpc-status {GrpcStatus ?? "-"} ({GrpcMessage}), {DataBytes} data bytes, ended {EndedByServer}, reset {ResetError?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, connection closed {ConnectionClosed}";
    }

    private sealed class StreamState
    {
        private readonly Lock _gate = new();
        private readonly List<(int Bytes, TaskCompletionSource Done)> _dataWaiters = [];
        private string? _httpStatus;
        private string? _grpcStatus;
        private string? _grpcMessage;
        private int _dataBytes;
        private int? _reset;

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnHeaders(List<(string Name, string Value)> headers, bool endStream)
        {
            lock (_gate)
            {
                foreach (var (name, value) in headers)
                {
                    switch (name)
                    {
                        case ":status": _httpStatus = value; break;
                        case "grpc-status": _grpcStatus = value; break;
                        case "grpc-message": _grpcMessage = value; break;
                    }
                }
            }

            if (endStream)
            {
                Ended.TrySetResult();
            }
            else
            {
                Started.TrySetResult();
            }
        }

        public void OnData(int bytes, bool endStream)
        {
            lock (_gate)
            {
                _dataBytes += bytes;
                foreach (var waiter in _dataWaiters.Where(w => w.Bytes <= _dataBytes))
                {
                    waiter.Done.TrySetResult();
                }
            }

            if (endStream)
            {
                Ended.TrySetResult();
            }
        }

        public void OnReset(int error)
        {
            lock (_gate)
            {
                _reset = error;
            }

            Ended.TrySetResult();
        }

        public Task WaitForData(int bytes)
        {
            lock (_gate)
            {
                if (_dataBytes >= bytes)
                {
                    return Task.CompletedTask;
                }

                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _dataWaiters.Add((bytes, done));
                return done.Task;
            }
        }

        public StreamOutcome Outcome(bool connectionClosed)
        {
            lock (_gate)
            {
                return new StreamOutcome(_httpStatus, _grpcStatus, _grpcMessage, _dataBytes, Ended.Task.IsCompleted, _reset, connectionClosed);
            }
        }
    }

    private static readonly (string Name, string Value)[] StaticTable =
    [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
        ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
        ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
        ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
        ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
        ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
        ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
        ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
        ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];
}
