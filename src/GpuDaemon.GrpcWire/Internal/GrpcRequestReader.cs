using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>
/// Reads a call's one request message under the server's limits: the message size, the request-body
/// deadline (the whole request must arrive within <see cref="GrpcServerOptions.RequestBodyTimeout"/> of the
/// call's start) and the buffered-bytes budgets. Once the request is read, neither the deadline nor the
/// budget applies any more, so a long-lived stream such as ListAndWatch is never cut by them.
/// </summary>
internal sealed class GrpcRequestReader(GrpcServerOptions options, TimeProvider timeProvider, GrpcServerCounters counters)
{
    public ValueTask<TRequest> ReadSingleAsync<TRequest>(HttpContext httpContext, MessageParser<TRequest> parser, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>
    {
        // Nearly every unary call's request (its message and the end of the stream) is already buffered when the
        // handler starts: take it without a timer, a linked token, a lease or an await.
        return GrpcFraming.TryReadSingleMessage(httpContext.Request.BodyReader, parser, options.MaxReceiveMessageBytes, out var request)
            ? ValueTask.FromResult(request)
            : ReadSingleSlowAsync(httpContext, parser, call);
    }

    private async ValueTask<TRequest> ReadSingleSlowAsync<TRequest>(HttpContext httpContext, MessageParser<TRequest> parser, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>
    {
        var callToken = call.CancellationToken;
        var lease = NewLease(httpContext);
        using var bodyDeadline = new CancellationTokenSource(options.RequestBodyTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, bodyDeadline.Token);
        try
        {
            return await GrpcFraming.ReadSingleMessageAsync(httpContext.Request.BodyReader, parser, options.MaxReceiveMessageBytes, linked.Token, lease);
        }
        catch (OperationCanceledException) when (bodyDeadline.IsCancellationRequested && !callToken.IsCancellationRequested)
        {
            throw new RpcException(GrpcStatusCode.DeadlineExceeded, $"the request did not arrive in whole within {options.RequestBodyTimeout.TotalSeconds:0.###} s of the call's start");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException && !linked.IsCancellationRequested)
        {
            // The transport failed the read (RST_STREAM, a closed connection) before RequestAborted was set.
            throw new CallAbortedException(ex);
        }
        finally
        {
            lease.Release();
        }
    }

    private RequestBytesLease NewLease(HttpContext httpContext)
    {
        // The connection middleware put one per connection in its items; without it (never in practice) the
        // call still counts against the server-wide budget.
        var items = httpContext.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items;
        var connection = items is not null && items.TryGetValue(GrpcRequestDispatcher.ConnectionBytesKey, out var value) && value is ConnectionRequestBytes bytes
            ? bytes
            : new ConnectionRequestBytes();
        return new RequestBytesLease(counters, connection, options.MaxBufferedRequestBytesPerConnection, options.MaxBufferedRequestBytes);
    }
}
