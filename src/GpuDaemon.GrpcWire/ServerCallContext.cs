using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire;

/// <summary>What a handler may know about the call it serves.</summary>
public sealed class ServerCallContext
{
    private readonly CancellationToken _requestAborted;
    private readonly CancellationToken _serverStopping;
    private readonly CancellationToken _deadlineToken;
    private CancellationTokenSource? _linked;

    internal ServerCallContext(string method, IHeaderDictionary requestHeaders, DateTimeOffset? deadline,
        CancellationToken requestAborted, CancellationToken serverStopping, CancellationToken deadlineToken)
    {
        Method = method;
        RequestHeaders = requestHeaders;
        Deadline = deadline;
        _requestAborted = requestAborted;
        _serverStopping = serverStopping;
        _deadlineToken = deadlineToken;
    }

    /// <summary>The full method path.</summary>
    public string Method { get; }

    public IHeaderDictionary RequestHeaders { get; }

    /// <summary>When the client's <c>grpc-timeout</c> runs out, if it sent one.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>
    /// Cancelled when the client cancels (RST_STREAM), the deadline passes or the server stops. The token that
    /// links the three is made on first use: a unary call answered at once (every Allocate) never needs it.
    /// </summary>
    public CancellationToken CancellationToken => (Volatile.Read(ref _linked) ?? Link()).Token;

    /// <summary>Whether the call is over, read without making the linked token.</summary>
    internal bool IsCancellationRequested =>
        _requestAborted.IsCancellationRequested || _serverStopping.IsCancellationRequested || _deadlineToken.IsCancellationRequested;

    /// <summary>Ends the call: the linked token, if one was made, lets go of the tokens it watches.</summary>
    internal void Complete() => Volatile.Read(ref _linked)?.Dispose();

    private CancellationTokenSource Link()
    {
        var created = _deadlineToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(_requestAborted, _serverStopping, _deadlineToken)
            : CancellationTokenSource.CreateLinkedTokenSource(_requestAborted, _serverStopping);
        var existing = Interlocked.CompareExchange(ref _linked, created, null);
        if (existing is null)
        {
            return created;
        }

        created.Dispose();
        return existing;
    }
}
