using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire;

/// <summary>What a handler may know about the call it serves.</summary>
public sealed class ServerCallContext
{
    internal ServerCallContext(string method, IHeaderDictionary requestHeaders, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        Method = method;
        RequestHeaders = requestHeaders;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method path.</summary>
    public string Method { get; }

    public IHeaderDictionary RequestHeaders { get; }

    /// <summary>When the client's <c>grpc-timeout</c> runs out, if it sent one.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Cancelled when the client cancels (RST_STREAM), the deadline passes or the server stops.</summary>
    public CancellationToken CancellationToken { get; }
}
