using Google.Protobuf;

namespace GpuDaemon.GrpcWire;

public enum GrpcMethodType
{
    Unary,
    ServerStreaming,
}

/// <summary>Describes one gRPC method: its full path on the wire and how to parse its messages.</summary>
public sealed class GrpcMethod<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public GrpcMethod(GrpcMethodType type, string path, MessageParser<TRequest> requestParser, MessageParser<TResponse> responseParser)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!path.StartsWith('/') || path.IndexOf('/', 1) < 0)
        {
            throw new ArgumentException($"gRPC method path '{path}' must look like /package.Service/Method", nameof(path));
        }

        Type = type;
        Path = path;
        RequestParser = requestParser;
        ResponseParser = responseParser;
    }

    public GrpcMethodType Type { get; }

    /// <summary>The HTTP/2 <c>:path</c>, e.g. <c>/v1beta1.DevicePlugin/Allocate</c>.</summary>
    public string Path { get; }

    public MessageParser<TRequest> RequestParser { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    public override string ToString() => Path;
}
