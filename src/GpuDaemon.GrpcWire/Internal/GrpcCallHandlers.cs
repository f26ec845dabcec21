using System.IO.Pipelines;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace GpuDaemon.GrpcWire.Internal;

internal interface IGrpcCallHandler
{
    Task HandleAsync(HttpContext httpContext, ServerCallContext call, GrpcRequestReader requestReader);
}

internal static class CallHandlerHelpers
{
    /// <summary>
    /// Writes one message and flushes it. A flush that completes at once (every unary answer, in practice) needs no
    /// cancellation token, so the call's linked token is only made when a flush has to wait for the client; then
    /// the call's end (client gone, deadline, server stopping) or <paramref name="cancellationToken"/> cancels it.
    /// </summary>
    public static ValueTask WriteResponseAsync(HttpContext httpContext, IMessage message, ServerCallContext call, CancellationToken cancellationToken = default)
    {
        if (call.IsCancellationRequested || cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken.IsCancellationRequested ? cancellationToken : call.CancellationToken);
        }

        var writer = httpContext.Response.BodyWriter;
        ValueTask<FlushResult> flushing;
        try
        {
            GrpcFraming.WriteMessage(writer, message);
            flushing = writer.FlushAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The transport failed the write (RST_STREAM, a closed connection) before RequestAborted was set.
            throw new CallAbortedException(ex);
        }

        if (flushing.IsCompletedSuccessfully)
        {
            ThrowIfAborted(flushing.Result);
            return ValueTask.CompletedTask;
        }

        return AwaitFlushAsync(flushing, writer, call, cancellationToken);
    }

    private static async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flushing, PipeWriter writer, ServerCallContext call, CancellationToken cancellationToken)
    {
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken, cancellationToken) : null;
        var token = linked?.Token ?? call.CancellationToken;
        FlushResult flush;
        using (token.UnsafeRegister(static state => ((PipeWriter)state!).CancelPendingFlush(), writer))
        {
            try
            {
                flush = await flushing;
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException)
            {
                throw new CallAbortedException(ex);
            }
        }

        if (flush.IsCanceled && token.IsCancellationRequested)
        {
            throw new OperationCanceledException(token);
        }

        ThrowIfAborted(flush);
    }

    private static void ThrowIfAborted(FlushResult flush)
    {
        if (flush.IsCanceled || flush.IsCompleted)
        {
            throw new CallAbortedException(new OperationCanceledException("the client stopped reading the response"));
        }
    }
}

internal sealed class UnaryCallHandler<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, ServerCallContext, Task<TResponse>> handler) : IGrpcCallHandler
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public async Task HandleAsync(HttpContext httpContext, ServerCallContext call, GrpcRequestReader requestReader)
    {
        var request = await requestReader.ReadSingleAsync(httpContext, method.RequestParser, call);
        var response = await handler(request, call)
            ?? throw new RpcException(GrpcStatusCode.Internal, $"{method.Path} produced no response");
        await CallHandlerHelpers.WriteResponseAsync(httpContext, response, call);
    }
}

internal sealed class ServerStreamingCallHandler<TRequest, TResponse>(
    GrpcMethod<TRequest, TResponse> method,
    Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : IGrpcCallHandler
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public async Task HandleAsync(HttpContext httpContext, ServerCallContext call, GrpcRequestReader requestReader)
    {
        var request = await requestReader.ReadSingleAsync(httpContext, method.RequestParser, call);
        await handler(request, new ResponseStreamWriter(httpContext, call), call);
    }

    private sealed class ResponseStreamWriter(HttpContext httpContext, ServerCallContext call) : IServerStreamWriter<TResponse>
    {
        private int _writing;

        public async Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(message);
            if (Interlocked.Exchange(ref _writing, 1) == 1)
            {
                throw new InvalidOperationException("a previous WriteAsync on this stream has not completed");
            }

            try
            {
                await CallHandlerHelpers.WriteResponseAsync(httpContext, message, call, cancellationToken);
            }
            finally
            {
                Volatile.Write(ref _writing, 0);
            }
        }
    }
}
