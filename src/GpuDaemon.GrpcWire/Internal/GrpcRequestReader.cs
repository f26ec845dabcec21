using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>
/// Reads a call's one request message under the server's limits: the message size, the request-body
/// deadline (the whole request must arrive within <see cref="GrpcServerOptions.RequestBodyTimeout"/> of the
/// call's start) and the buffered-bytes budgets. Once the request is read, neither the deadline nor the
/// budget applies any more, so a long-lived stream such as ListAndWatch is never cut by them.
/// </summary>
internal sealed class GrpcRequestReader(GrpcServerOptions options, TimeProvider timeProvider, Func<HttpContext, RequestBytesLease> newLease)
{
    public ValueTask<TRequest> ReadSingleAsync<TRequest>(HttpContext httpContext, MessageParser<TRequest> parser, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>
    {
        // Nearly every unary call's request (its message and the end of the stream) is already buffered when the
        // handler starts: take it without a timer, a linked token, a lease or an await.
        return TryReadWhole(httpContext.Request.BodyReader, parser, options.MaxReceiveMessageBytes, out var request)
            ? ValueTask.FromResult(request)
            : ReadSingleSlowAsync(httpContext, parser, call);
    }

    /// <summary>
    /// True with the message when the buffered body is exactly one whole message and the stream has ended.
    /// Otherwise nothing is consumed (the slow path reads the same bytes again), except that a body that is
    /// already wrong fails here as the slow path would fail it.
    /// </summary>
    private static bool TryReadWhole<TRequest>(System.IO.Pipelines.PipeReader reader, MessageParser<TRequest> parser, int maxMessageBytes, out TRequest request)
        where TRequest : class, IMessage<TRequest>
    {
        request = null!;
        System.IO.Pipelines.ReadResult result;
        try
        {
            if (!reader.TryRead(out result))
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // A transport failure: the slow path meets it again and reports it as the client going away.
            return false;
        }

        var buffer = result.Buffer;
        if (!result.IsCompleted || result.IsCanceled)
        {
            reader.AdvanceTo(buffer.Start);
            return false;
        }

        try
        {
            if (!GrpcFraming.TryReadFrame(ref buffer, maxMessageBytes, out var payload) || !buffer.IsEmpty)
            {
                // A partial message, or more than one: the slow path reads it to its documented error.
                reader.AdvanceTo(result.Buffer.Start);
                return false;
            }

            request = GrpcFraming.ParseMessage(parser, payload);
        }
        catch (RpcException)
        {
            reader.AdvanceTo(result.Buffer.End);
            throw;
        }

        reader.AdvanceTo(buffer.End);
        return true;
    }

    private async ValueTask<TRequest> ReadSingleSlowAsync<TRequest>(HttpContext httpContext, MessageParser<TRequest> parser, ServerCallContext call)
        where TRequest : class, IMessage<TRequest>
    {
        var callToken = call.CancellationToken;
        var lease = newLease(httpContext);
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
}
