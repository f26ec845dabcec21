namespace GpuDaemon.GrpcWire;

/// <summary>
/// Every limit the gRPC server enforces, with the reason for its value. docs/reliability.md ("The gRPC
/// endpoint") lists them with what a peer sees when it reaches one.
/// </summary>
internal static class GrpcLimits
{
    /// <summary>The receive limit common gRPC implementations default to.</summary>
    public const int DefaultMaxReceiveMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Connections open at once. Only the kubelet (one connection per plugin socket) and node tools such as
    /// <c>gpudaemon probe</c> dial the socket, so a handful is normal; 64 leaves room for bursts of tools
    /// while staying far under the smallest usual file-descriptor limit (1024), so that a flood of
    /// connections is refused one by one instead of exhausting descriptors (which makes the accept loop
    /// spin on EMFILE and the runtime abort).
    /// </summary>
    public const int DefaultMaxConcurrentConnections = 64;

    /// <summary>
    /// Concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). The kubelet uses one
    /// long-lived ListAndWatch and admits pods one at a time, so it has two or three streams open; grpc-go
    /// queues calls beyond the limit rather than failing them. 32 bounds the calls one connection can hold
    /// open (each costs a request context and buffers) to a small multiple of that.
    /// </summary>
    public const int DefaultMaxStreamsPerConnection = 32;

    /// <summary>
    /// How long a call may take to deliver its whole request (the one message and the end of the stream),
    /// counted from its HEADERS. The kubelet sends its small requests at once, and even a 4 MiB message
    /// crosses a unix socket in milliseconds, so 10 s only ever ends requests that stall; without it a
    /// stream with HEADERS and no DATA would be held, with its memory, for ever.
    /// </summary>
    public static readonly TimeSpan DefaultRequestBodyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Request bytes one connection may hold buffered in incomplete messages, over all its streams. Two
    /// messages of the largest allowed size (4 MiB): a real peer sends one request at a time, and anything
    /// beyond this is a connection trying to make the server hold its data.
    /// </summary>
    public const long DefaultMaxBufferedRequestBytesPerConnection = 2L * DefaultMaxReceiveMessageBytes;

    /// <summary>
    /// Request bytes the whole server may hold buffered in incomplete messages, over all connections. Eight
    /// largest messages (32 MiB) keeps a flood of incomplete requests to a small fraction of the daemon's
    /// memory limit, while a real request (the kubelet's are a few KiB) is never near it.
    /// </summary>
    public const long DefaultMaxBufferedRequestBytes = 8L * DefaultMaxReceiveMessageBytes;

    /// <summary>
    /// HTTP/2 connection flow-control window (bytes a peer may send before the server has read them). Kestrel's
    /// default, written down: with <see cref="InitialStreamWindowBytes"/> it bounds what Kestrel itself buffers
    /// for one connection before the gRPC layer sees the bytes and counts them against its budgets.
    /// </summary>
    public const int InitialConnectionWindowBytes = 1024 * 1024;

    /// <summary>
    /// HTTP/2 per-stream flow-control window. 256 KiB lets four streams share the connection window; a 4 MiB
    /// message still arrives in a few round trips, which on a unix socket cost microseconds.
    /// </summary>
    public const int InitialStreamWindowBytes = 256 * 1024;

    /// <summary>
    /// Bytes Kestrel reads from the socket ahead of HTTP/2 frame processing (its default, written down): one
    /// connection's unprocessed input never exceeds this.
    /// </summary>
    public const long MaxTransportBufferBytes = 1024 * 1024;

    /// <summary>
    /// The longest <c>grpc-timeout</c> enforced as a deadline. A longer one (the header allows up to
    /// 99999999 hours, beyond what a date can hold) is no deadline in practice and is treated as none; 30 days
    /// is also under the 49.7-day maximum of a .NET timer.
    /// </summary>
    public static readonly TimeSpan MaxEnforcedTimeout = TimeSpan.FromDays(30);
}
