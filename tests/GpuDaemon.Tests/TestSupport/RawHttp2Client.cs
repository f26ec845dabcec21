using System.Net;
using System.Net.Sockets;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// Sends hand-made HTTP/2 requests over a unix socket, for cases a well-behaved gRPC client never
/// produces: wrong content types, compressed flags, bodies trickled a few bytes per DATA frame.
/// </summary>
public sealed class RawHttp2Client(string socketPath) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    public async Task<RawResponse> PostAsync(string path, byte[] body, string contentType = "application/grpc", int chunkSize = int.MaxValue, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://localhost" + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ChunkedContent(body, chunkSize, contentType),
        };
        request.Headers.TE.ParseAdd("trailers");
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First()
            : null;
        return new RawResponse(
            response.StatusCode,
            bytes,
            Header("grpc-status"),
            Header("grpc-message"),
            TrailersOnly: response.Headers.Contains("grpc-status"));
    }

    public void Dispose() => _http.Dispose();

    public sealed record RawResponse(HttpStatusCode HttpStatus, byte[] Body, string? GrpcStatus, string? GrpcMessage, bool TrailersOnly);

    /// <summary>Writes the body in chunks, flushing after each, so each lands in its own DATA frame.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly int _chunkSize;

        public ChunkedContent(byte[] body, int chunkSize, string contentType)
        {
            _body = body;
            _chunkSize = chunkSize;
            Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < _body.Length; offset += _chunkSize)
            {
                await stream.WriteAsync(_body.AsMemory(offset, Math.Min(_chunkSize, _body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
