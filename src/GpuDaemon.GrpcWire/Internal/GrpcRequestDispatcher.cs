using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>Turns one HTTP/2 request into one gRPC call: checks, routing, deadline, status trailers.</summary>
internal sealed partial class GrpcRequestDispatcher(
    GrpcServiceMap services,
    GrpcServerOptions options,
    TimeProvider timeProvider,
    GrpcServerCounters counters,
    ILogger logger,
    CancellationToken serverStopping)
{
    /// <summary>The key under which a connection's <see cref="ConnectionRequestBytes"/> sits in its items.</summary>
    internal static readonly object ConnectionBytesKey = new();

    private readonly GrpcRequestReader _requestReader = new(options, timeProvider, counters);

    public async Task DispatchAsync(HttpContext httpContext)
    {
        counters.StreamStarted();
        try
        {
            await DispatchCoreAsync(httpContext);
        }
        finally
        {
            counters.StreamEnded();
        }
    }

    private async Task DispatchCoreAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        var response = httpContext.Response;
        var path = request.Path.Value ?? string.Empty;

        if (!HttpMethods.IsPost(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            Log.UnsupportedContentType(logger, path, request.ContentType);
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;

        // Everything from here on answers with a gRPC status, whatever fails: header handling included.
        try
        {
            await CallAsync(httpContext, path);
        }
        catch (Exception ex) when (IsClientGone(httpContext, ex))
        {
            Log.ClientCancelled(logger, path);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(logger, path, ex);
            WriteStatus(response, GrpcStatusCode.Internal, $"{path} failed: {OneLine(ex.Message)}");
        }
    }

    private async Task CallAsync(HttpContext httpContext, string path)
    {
        var request = httpContext.Request;
        var response = httpContext.Response;
        if (!services.TryGetHandler(path, out var handler))
        {
            Log.UnknownMethod(logger, path);
            WriteStatus(response, GrpcStatusCode.Unimplemented, $"unknown method {path}");
            return;
        }

        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.Ordinal))
        {
            WriteStatus(response, GrpcStatusCode.Unimplemented, $"grpc-encoding '{encoding}' is not supported; send uncompressed messages");
            return;
        }

        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var parsed))
            {
                WriteStatus(response, GrpcStatusCode.Internal, $"malformed grpc-timeout '{timeoutHeader}'");
                return;
            }

            // A timeout beyond MaxEnforcedTimeout is no deadline in practice (and beyond what a timer or a date holds).
            timeout = parsed <= GrpcLimits.MaxEnforcedTimeout ? parsed : null;
        }

        // Most calls (all of the kubelet's) carry no grpc-timeout: no timer for them.
        using var deadline = timeout is { } t ? new CancellationTokenSource(t, timeProvider) : null;
        var call = new ServerCallContext(path, request.Headers, timeout is { } d ? timeProvider.GetUtcNow() + d : null,
            httpContext.RequestAborted, serverStopping, deadline?.Token ?? CancellationToken.None);

        try
        {
            await handler.HandleAsync(httpContext, call, _requestReader);
            WriteStatus(response, GrpcStatusCode.OK, string.Empty);
        }
        catch (RpcException ex)
        {
            Log.CallFailed(logger, path, ex.StatusCode, ex.Detail);
            WriteStatus(response, ex.StatusCode, ex.Detail);
        }
        catch (OperationCanceledException) when (deadline?.IsCancellationRequested == true && !httpContext.RequestAborted.IsCancellationRequested)
        {
            WriteStatus(response, GrpcStatusCode.DeadlineExceeded, $"deadline of {timeout} exceeded");
        }
        catch (OperationCanceledException) when (serverStopping.IsCancellationRequested && !httpContext.RequestAborted.IsCancellationRequested)
        {
            WriteStatus(response, GrpcStatusCode.Unavailable, "server is shutting down");
        }
        finally
        {
            call.Complete();
        }
    }

    /// <summary>
    /// The client reset the stream or closed the connection: a failed read or write on a call whose stream was
    /// aborted, or a transport failure the reader or writer recognised before RequestAborted was set.
    /// Nobody is left to answer, and nothing went wrong on our side.
    /// </summary>
    private static bool IsClientGone(HttpContext httpContext, Exception ex) =>
        ex is CallAbortedException
        || (httpContext.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException);

    private static void WriteStatus(HttpResponse response, GrpcStatusCode status, string message)
    {
        var code = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var encoded = GrpcStatusMessage.Encode(message);
        if (!response.HasStarted)
        {
            // Trailers-only: the status travels in the one HEADERS frame that ends the stream.
            response.Headers[GrpcProtocol.StatusHeader] = code;
            if (encoded.Length > 0)
            {
                response.Headers[GrpcProtocol.MessageHeader] = encoded;
            }

            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusHeader, code);
        if (encoded.Length > 0)
        {
            response.AppendTrailer(GrpcProtocol.MessageHeader, encoded);
        }
    }

    /// <summary>The first line only: what a peer needs, never a multi-line dump.</summary>
    private static string OneLine(string text)
    {
        var line = text.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "unexpected error";
        return line.Length > 512 ? line[..512] : line;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "gRPC request for {Path} refused: content-type '{ContentType}' is not application/grpc")]
        public static partial void UnsupportedContentType(ILogger logger, string path, string? contentType);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "gRPC request for unknown method {Path}")]
        public static partial void UnknownMethod(ILogger logger, string path);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "gRPC call {Path} ended with {Status}: {Detail}")]
        public static partial void CallFailed(ILogger logger, string path, GrpcStatusCode status, string detail);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "gRPC call {Path} cancelled by the client")]
        public static partial void ClientCancelled(ILogger logger, string path);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "gRPC handler for {Path} failed")]
        public static partial void HandlerFailed(ILogger logger, string path, Exception exception);
    }
}
