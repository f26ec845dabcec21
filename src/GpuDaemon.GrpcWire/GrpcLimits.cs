namespace GpuDaemon.GrpcWire;

internal static class GrpcLimits
{
    /// <summary>The receive limit common gRPC implementations default to.</summary>
    public const int DefaultMaxReceiveMessageBytes = 4 * 1024 * 1024;
}
