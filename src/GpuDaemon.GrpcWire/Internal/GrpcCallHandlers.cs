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
    public static async Task WriteResponseAsync(HttpContext httpContext, IMessage message, CancellationToken cancellationToken)
    {
        FlushResult flush;
        try
        {
            GrpcFraming.WriteMessage(httpContext.Response.BodyWriter, message);
            flush = await httpContext.Response.BodyWriter.FlushAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The transport failed the write (RST_STREAM, a closed connection) before RequestAborted was set.
            throw new CallAbortedException(ex);
        }

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
        var request = await requestReader.ReadSingleAsync(method.RequestParser, call.CancellationToken);
        var response = await handler(request, call)
            ?? throw new RpcException(GrpcStatusCode.Internal, $"{method.Path} produced no response");
        await CallHandlerHelpers.WriteResponseAsync(httpContext, response, call.CancellationToken);
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
        var request = await requestReader.ReadSingleAsync(method.RequestParser, call.CancellationToken);
        await handler(request, new ResponseStreamWriter(httpContext, call.CancellationToken), call);
    }

    private sealed class ResponseStreamWriter(HttpContext httpContext, CancellationToken callToken) : IServerStreamWriter<TResponse>
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
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, cancellationToken);
                await CallHandlerHelpers.WriteResponseAsync(httpContext, message, linked.Token);
            }
            finally
            {
                Volatile.Write(ref _writing, 0);
            }
        }
    }
}
