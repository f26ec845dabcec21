namespace GpuDaemon.GrpcWire;

/// <summary>
/// A gRPC call that ended with a non-OK status. Handlers throw it to choose the status the peer sees;
/// the client throws it when the peer answered with one.
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(GrpcStatusCode statusCode, string detail)
        : base(detail)
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    public RpcException(GrpcStatusCode statusCode, string detail, Exception innerException)
        : base(detail, innerException)
    {
        StatusCode = statusCode;
        Detail = detail;
    }

    public RpcException()
        : this(GrpcStatusCode.Unknown, "unknown error")
    {
    }

    public RpcException(string message)
        : this(GrpcStatusCode.Unknown, message)
    {
    }

    public RpcException(string message, Exception innerException)
        : this(GrpcStatusCode.Unknown, message, innerException)
    {
    }

    public GrpcStatusCode StatusCode { get; }

    /// <summary>The status message, as carried in <c>grpc-message</c>.</summary>
    public string Detail { get; }

    public override string Message => $"{StatusCode}: {Detail}";
}
