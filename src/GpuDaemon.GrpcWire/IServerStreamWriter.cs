namespace GpuDaemon.GrpcWire;

/// <summary>Writes the messages of a server-streaming response, one at a time.</summary>
public interface IServerStreamWriter<in T>
{
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
