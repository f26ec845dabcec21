using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using GpuDaemon.GrpcWire.Internal;
using Google.Protobuf;

namespace GpuDaemon.GrpcWire;

/// <summary>
/// A gRPC client over one unix-domain socket: HTTP/2 with prior knowledge, <c>:authority</c> localhost,
/// deadlines sent as <c>grpc-timeout</c> and enforced locally. Calls that fail throw <see cref="RpcException"/>.
/// </summary>
public sealed class GrpcUnixClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeProvider _timeProvider;
    private readonly int _maxReceiveMessageBytes;

    public GrpcUnixClient(string socketPath, TimeProvider? timeProvider = null, int maxReceiveMessageBytes = GrpcLimits.DefaultMaxReceiveMessageBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _maxReceiveMessageBytes = maxReceiveMessageBytes;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public string SocketPath { get; }

    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = new ClientCall(_timeProvider, SocketPath, method.Path, timeout, cancellationToken);
        try
        {
            using var response = await SendAsync(method.Path, request, timeout, call.Token);
            if (TryGetTrailersOnlyStatus(response, out var headerStatus))
            {
                throw headerStatus;
            }

            await using var body = await response.Content.ReadAsStreamAsync(call.Token);
            var reader = PipeReader.Create(body);
            var message = await GrpcFraming.ReadMessageAsync(reader, method.ResponseParser, _maxReceiveMessageBytes, call.Token);
            await DrainAsync(reader, call.Token);
            ThrowIfNotOk(ReadStatus(response.TrailingHeaders, method.Path));
            return message ?? throw new RpcException(GrpcStatusCode.Internal, $"{method.Path} returned OK without a response message");
        }
        catch (Exception ex) when (call.Translate(ex) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>Streams the responses; disposing the enumerator early cancels the call (RST_STREAM).</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, TimeSpan? timeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = new ClientCall(_timeProvider, SocketPath, method.Path, timeout, cancellationToken);
        HttpResponseMessage response;
        PipeReader reader;
        try
        {
            response = await SendAsync(method.Path, request, timeout, call.Token);
            if (TryGetTrailersOnlyStatus(response, out var headerStatus))
            {
                response.Dispose();
                throw headerStatus;
            }

            reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(call.Token));
        }
        catch (Exception ex) when (call.Translate(ex) is { } translated)
        {
            throw translated;
        }

        using (response)
        {
            try
            {
                while (true)
                {
                    TResponse? message;
                    try
                    {
                        message = await GrpcFraming.ReadMessageAsync(reader, method.ResponseParser, _maxReceiveMessageBytes, call.Token);
                    }
                    catch (Exception ex) when (call.Translate(ex) is { } translated)
                    {
                        throw translated;
                    }

                    if (message is null)
                    {
                        break;
                    }

                    yield return message;
                }
            }
            finally
            {
                await reader.CompleteAsync();
            }

            ThrowIfNotOk(ReadStatus(response.TrailingHeaders, method.Path));
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(string path, IMessage request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var content = new ByteArrayContent(GrpcFraming.Frame(request));
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri("http://" + GrpcProtocol.Authority + path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        message.Headers.TE.ParseAdd("trailers");
        if (timeout is { } t)
        {
            message.Headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        }

        var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var status = FromHttpStatus(response.StatusCode, path);
            response.Dispose();
            throw status;
        }

        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            response.Dispose();
            throw new RpcException(GrpcStatusCode.Internal, $"{path} answered with content-type '{contentType}', not application/grpc");
        }

        return response;
    }

    private static bool TryGetTrailersOnlyStatus(HttpResponseMessage response, out RpcException status)
    {
        status = null!;
        if (!response.Headers.Contains(GrpcProtocol.StatusHeader))
        {
            return false;
        }

        var result = ReadStatus(response.Headers, response.RequestMessage?.RequestUri?.AbsolutePath ?? "call");
        if (result is null)
        {
            // OK with no messages: the caller decides whether a missing message is an error.
            return false;
        }

        status = result;
        return true;
    }

    /// <summary>Null for OK, the failure otherwise.</summary>
    private static RpcException? ReadStatus(HttpHeaders headers, string path)
    {
        if (!headers.TryGetValues(GrpcProtocol.StatusHeader, out var values))
        {
            return new RpcException(GrpcStatusCode.Internal, $"{path} ended without a grpc-status");
        }

        var raw = values.FirstOrDefault();
        if (!int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            return new RpcException(GrpcStatusCode.Internal, $"{path} sent an invalid grpc-status '{raw}'");
        }

        if (code == 0)
        {
            return null;
        }

        var message = headers.TryGetValues(GrpcProtocol.MessageHeader, out var messages) ? GrpcStatusMessage.Decode(messages.FirstOrDefault()) : string.Empty;
        var status = Enum.IsDefined(typeof(GrpcStatusCode), code) ? (GrpcStatusCode)code : GrpcStatusCode.Unknown;
        return new RpcException(status, message);
    }

    private static void ThrowIfNotOk(RpcException? status)
    {
        if (status is not null)
        {
            throw status;
        }
    }

    private static async Task DrainAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
    }

    // The HTTP-to-gRPC mapping the gRPC spec gives for responses that are not gRPC.
    private static RpcException FromHttpStatus(HttpStatusCode httpStatus, string path)
    {
        var code = httpStatus switch
        {
            HttpStatusCode.BadRequest => GrpcStatusCode.Internal,
            HttpStatusCode.Unauthorized => GrpcStatusCode.Unauthenticated,
            HttpStatusCode.Forbidden => GrpcStatusCode.PermissionDenied,
            HttpStatusCode.NotFound => GrpcStatusCode.Unimplemented,
            HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => GrpcStatusCode.Unavailable,
            _ => GrpcStatusCode.Unknown,
        };
        return new RpcException(code, $"{path} answered HTTP {(int)httpStatus} instead of a gRPC response");
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One call's cancellation: the caller's token plus its deadline, and how failures read.</summary>
    private sealed class ClientCall : IDisposable
    {
        private readonly string _socketPath;
        private readonly string _path;
        private readonly TimeSpan? _timeout;
        private readonly CancellationToken _callerToken;
        private readonly CancellationTokenSource? _deadline;
        private readonly CancellationTokenSource _linked;

        public ClientCall(TimeProvider timeProvider, string socketPath, string path, TimeSpan? timeout, CancellationToken callerToken)
        {
            _socketPath = socketPath;
            _path = path;
            _timeout = timeout;
            _callerToken = callerToken;
            _deadline = timeout is { } t ? new CancellationTokenSource(t, timeProvider) : null;
            _linked = _deadline is null
                ? CancellationTokenSource.CreateLinkedTokenSource(callerToken)
                : CancellationTokenSource.CreateLinkedTokenSource(callerToken, _deadline.Token);
        }

        public CancellationToken Token => _linked.Token;

        public RpcException? Translate(Exception ex) => ex switch
        {
            RpcException => null,
            OperationCanceledException when _deadline?.IsCancellationRequested == true && !_callerToken.IsCancellationRequested
                => new RpcException(GrpcStatusCode.DeadlineExceeded, $"{_path} did not answer within {_timeout}", ex),
            OperationCanceledException when _callerToken.IsCancellationRequested
                => new RpcException(GrpcStatusCode.Cancelled, $"{_path} was cancelled", ex),
            HttpRequestException { InnerException: SocketException } when !File.Exists(_socketPath)
                => new RpcException(GrpcStatusCode.Unavailable, $"cannot reach {_socketPath} for {_path}: the socket does not exist (is the server running?)", ex),
            HttpRequestException { InnerException: SocketException socketError }
                => new RpcException(GrpcStatusCode.Unavailable, $"cannot reach {_socketPath} for {_path}: {socketError.Message}", ex),
            HttpRequestException or IOException
                => new RpcException(GrpcStatusCode.Unavailable, $"{_path} on {_socketPath} failed in transport: {ex.Message}", ex),
            _ => null,
        };

        public void Dispose()
        {
            _linked.Dispose();
            _deadline?.Dispose();
        }
    }
}
