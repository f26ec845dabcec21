using GpuDaemon.GrpcWire.Internal;
using Google.Protobuf;

namespace GpuDaemon.GrpcWire;

/// <summary>The methods a server answers, each mapped by its full path to a typed handler.</summary>
public sealed class GrpcServiceMap
{
    private readonly Dictionary<string, IGrpcCallHandler> _handlers = new(StringComparer.Ordinal);

    public GrpcServiceMap MapUnary<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        RequireType(method.Type, GrpcMethodType.Unary, method.Path);
        Add(method.Path, new UnaryCallHandler<TRequest, TResponse>(method, handler));
        return this;
    }

    public GrpcServiceMap MapServerStreaming<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        RequireType(method.Type, GrpcMethodType.ServerStreaming, method.Path);
        Add(method.Path, new ServerStreamingCallHandler<TRequest, TResponse>(method, handler));
        return this;
    }

    internal bool TryGetHandler(string path, out IGrpcCallHandler handler) => _handlers.TryGetValue(path, out handler!);

    private void Add(string path, IGrpcCallHandler handler)
    {
        if (!_handlers.TryAdd(path, handler))
        {
            throw new InvalidOperationException($"gRPC method {path} is mapped twice");
        }
    }

    private static void RequireType(GrpcMethodType actual, GrpcMethodType expected, string path)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"gRPC method {path} is {actual}, not {expected}");
        }
    }
}
