namespace GpuDaemon.GrpcWire;

public sealed class GrpcServerOptions
{
    /// <summary>Larger request messages are refused with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageBytes { get; set; } = GrpcLimits.DefaultMaxReceiveMessageBytes;

    /// <summary>Unix permission bits of the socket file; the kubelet runs as root, nobody else needs it.</summary>
    public UnixFileMode SocketFileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;
}
