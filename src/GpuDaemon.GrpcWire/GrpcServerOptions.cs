namespace GpuDaemon.GrpcWire;

/// <summary>The server's limits; the defaults and the reasons for them are in <see cref="GrpcLimits"/>.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Larger request messages are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; set; } = GrpcLimits.DefaultMaxReceiveMessageBytes;

    /// <summary>Unix permission bits of the socket file; the kubelet runs as root, nobody else needs it.</summary>
    public UnixFileMode SocketFileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Connections beyond this are accepted and closed at once.</summary>
    public int MaxConcurrentConnections { get; set; } = GrpcLimits.DefaultMaxConcurrentConnections;

    /// <summary>Advertised as SETTINGS_MAX_CONCURRENT_STREAMS; a peer opening more gets RST_STREAM REFUSED_STREAM.</summary>
    public int MaxStreamsPerConnection { get; set; } = GrpcLimits.DefaultMaxStreamsPerConnection;

    /// <summary>A call whose request has not fully arrived this long after its headers ends with DEADLINE_EXCEEDED.</summary>
    public TimeSpan RequestBodyTimeout { get; set; } = GrpcLimits.DefaultRequestBodyTimeout;

    /// <summary>Incomplete request bytes one connection may hold; beyond it the call ends with RESOURCE_EXHAUSTED.</summary>
    public long MaxBufferedRequestBytesPerConnection { get; set; } = GrpcLimits.DefaultMaxBufferedRequestBytesPerConnection;

    /// <summary>Incomplete request bytes the server may hold over all connections; beyond it the call ends with RESOURCE_EXHAUSTED.</summary>
    public long MaxBufferedRequestBytes { get; set; } = GrpcLimits.DefaultMaxBufferedRequestBytes;
}
