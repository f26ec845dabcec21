using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>
/// Reads a call's one request message under the server's limits: the message size, the request-body
/// deadline (the whole request must arrive within <see cref="GrpcServerOptions.RequestBodyTimeout"/> of the
/// call's start) and the buffered-bytes budgets. Once the request is read, neither the deadline nor the
/// budget applies any more, so a long-lived stream such as ListAndWatch is never cut by them.
/// </summary>
internal sealed class GrpcRequestReader(
    HttpContext httpContext,
    int maxMessageBytes,
    TimeSpan bodyTimeout,
    CancellationTokenSource bodyDeadline,
    RequestBytesLease lease)
{
    public async ValueTask<TRequest> ReadSingleAsync<TRequest>(MessageParser<TRequest> parser, CancellationToken callToken)
        where TRequest : class, IMessage<TRequest>
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, bodyDeadline.Token);
        try
        {
            return await GrpcFraming.ReadSingleMessageAsync(httpContext.Request.BodyReader, parser, maxMessageBytes, linked.Token, lease);
        }
        catch (OperationCanceledException) when (bodyDeadline.IsCancellationRequested && !callToken.IsCancellationRequested)
        {
            throw new RpcException(GrpcStatusCode.DeadlineExceeded, $"the request did not arrive in whole within {bodyTimeout.TotalSeconds:0.###} s of the call's start");
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException && !linked.IsCancellationRequested)
        {
            // The transport failed the read (RST_STREAM, a closed connection) before RequestAborted was set.
            throw new CallAbortedException(ex);
        }
        finally
        {
            bodyDeadline.CancelAfter(Timeout.InfiniteTimeSpan);
            lease.Release();
        }
    }
}
