using System.IO.Compression;
using System.Net;
using System.Text;
using GpuDaemon.Metrics.Exposition;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics;

/// <summary>
/// The metrics endpoint: its own Kestrel on one TCP address, HTTP/1.1 only, GET <c>/metrics</c>, <c>/healthz</c>,
/// <c>/readyz</c> and <c>/</c>. Every pod on the node can reach it, so connections, request headers, idle time
/// and concurrent scrapes are bounded (<see cref="MetricsLimits"/>) and request bodies are refused.
/// </summary>
internal sealed partial class MetricsServer : IHostedService, IAsyncDisposable, IMetricsEndpoint
{
    private readonly MetricsScraper _scraper;
    private readonly ProbeEndpoints _probes;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MetricsOptions _options;
    private readonly SemaphoreSlim _scrapes;
    private readonly IDisposable? _optionsSubscription;
    private KestrelServer? _server;

    public MetricsServer(MetricsScraper scraper, ProbeEndpoints probes, IOptionsMonitor<MetricsOptions> options, ILoggerFactory loggerFactory)
    {
        _scraper = scraper;
        _probes = probes;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<MetricsServer>();
        _options = options.CurrentValue;
        _scrapes = new SemaphoreSlim(_options.Limits.MaxConcurrentScrapes);
        _optionsSubscription = options.OnChange(next =>
        {
            if (next.Listen != _options.Listen || next.Limits != _options.Limits)
            {
                Log.ListenNotReloaded(_logger, _options.Listen, next.Listen);
            }
        });
    }

    /// <summary>The address served, with the port the system picked for port 0; null when off or not started.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Scrapes answered 503 because <see cref="MetricsLimits.MaxConcurrentScrapes"/> were running.</summary>
    public long RejectedScrapes => Interlocked.Read(ref _rejectedScrapes);

    private long _rejectedScrapes;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            Log.Off(_logger);
            return;
        }

        var endpoint = MetricsOptions.ParseListen(_options.Listen, out var problem) ?? throw new InvalidOperationException(problem);
        var limits = _options.Limits;
        var kestrelOptions = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = EmptyServices.Instance,
        };
        kestrelOptions.Limits.MaxConcurrentConnections = limits.MaxConnections;
        kestrelOptions.Limits.MaxConcurrentUpgradedConnections = 0;
        kestrelOptions.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersBytes;
        kestrelOptions.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
        kestrelOptions.Limits.MaxRequestLineSize = limits.MaxRequestLineBytes;
        kestrelOptions.Limits.RequestHeadersTimeout = limits.RequestHeadersTimeout;
        kestrelOptions.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrelOptions.Limits.MaxRequestBodySize = 0;
        kestrelOptions.Limits.MinResponseDataRate = new MinDataRate(MetricsLimits.MinResponseBytesPerSecond, MetricsLimits.MinResponseGrace);
        kestrelOptions.Limits.MaxRequestBufferSize = limits.MaxRequestHeadersBytes * 2;
        kestrelOptions.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1);

        // A handful of connections, one request at a time each: one I/O queue instead of one per core (up to 16).
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions { IOQueueCount = 1 }), _loggerFactory);
        var server = new KestrelServer(Options.Create(kestrelOptions), transport, _loggerFactory);
        try
        {
            await server.StartAsync(new Application(this), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            server.Dispose();
            throw new MetricsEndpointException($"cannot serve metrics on {_options.Listen}: {ex.Message.ReplaceLineEndings(" ").TrimEnd('.')}; pick a free port with --metrics-listen, or --metrics-listen \"\" to turn metrics off", ex);
        }

        _server = server;
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        Address = bound is null ? null : new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal));
        Log.Listening(_logger, bound ?? _options.Listen);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var server = Interlocked.Exchange(ref _server, null);
        if (server is null)
        {
            return;
        }

        try
        {
            await server.StopAsync(cancellationToken);
        }
        finally
        {
            server.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _optionsSubscription?.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token);
        _scrapes.Dispose();
    }

    internal async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            // A scrape never has a body; one that does is not read, and the connection is not reused.
            response.Headers.Connection = "close";
            await Text(response, StatusCodes.Status413PayloadTooLarge, "request bodies are not accepted\n");
            return;
        }

        var path = request.Path.Value ?? "/";
        if (path is not ("/" or MetricsPaths.Metrics or MetricsPaths.Health or MetricsPaths.Readiness))
        {
            await Text(response, StatusCodes.Status404NotFound, "not found; see / for the paths served\n");
            return;
        }

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = "GET, HEAD";
            await Text(response, StatusCodes.Status405MethodNotAllowed, "only GET and HEAD\n");
            return;
        }

        switch (path)
        {
            case MetricsPaths.Metrics:
                await ScrapeAsync(context);
                break;
            case MetricsPaths.Health:
                var (alive, health) = _probes.Health();
                await Text(response, alive ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, health);
                break;
            case MetricsPaths.Readiness:
                var (ready, readiness) = _probes.Readiness();
                await Text(response, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, readiness);
                break;
            default:
                await Text(response, StatusCodes.Status200OK, Index);
                break;
        }
    }

    private const string Index =
        "GpuDaemon\n" +
        "/metrics  Prometheus metrics (text format 0.0.4): dcgm-exporter-compatible GPU series with pod labels, GpuDaemon's own\n" +
        "/healthz  200 while the process and its loops are alive\n" +
        "/readyz   200 once the device plugin is registered with the kubelet and every readiness check passes\n";

    private async Task ScrapeAsync(HttpContext context)
    {
        var response = context.Response;
        if (!_scrapes.Wait(0))
        {
            Interlocked.Increment(ref _rejectedScrapes);
            response.Headers.RetryAfter = "1";
            await Text(response, StatusCodes.Status503ServiceUnavailable, $"{_options.Limits.MaxConcurrentScrapes} scrapes are already running; try again\n");
            return;
        }

        try
        {
            using var text = await _scraper.ScrapeBufferAsync(context.RequestAborted);
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = TextExposition.ContentType;
            response.Headers.Vary = "Accept-Encoding";
            var gzip = AcceptsGzip(context.Request.Headers.AcceptEncoding);
            if (gzip)
            {
                response.Headers.ContentEncoding = "gzip";
            }
            else
            {
                response.ContentLength = text.Length;
            }

            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await WriteAsync(text, response.Body, gzip, context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
        }
        finally
        {
            _scrapes.Release();
        }
    }

    /// <summary>The scrape's segments into the response, through gzip when asked: no copy of the whole text is made.</summary>
    private static async Task WriteAsync(ScrapeBuffer text, Stream body, bool gzip, CancellationToken cancellationToken)
    {
        if (!gzip)
        {
            await text.CopyToAsync(body, cancellationToken);
            return;
        }

        await using var compressed = new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true);
        await text.CopyToAsync(compressed, cancellationToken);
    }

    /// <summary>True when the header lists gzip (or *) without q=0.</summary>
    internal static bool AcceptsGzip(IEnumerable<string?> acceptEncoding)
    {
        foreach (var header in acceptEncoding)
        {
            foreach (var part in (header ?? string.Empty).Split(','))
            {
                var pieces = part.Split(';');
                var coding = pieces[0].Trim();
                if (!coding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && coding != "*")
                {
                    continue;
                }

                var refused = pieces.Skip(1).Select(p => p.Trim().Replace(" ", string.Empty, StringComparison.Ordinal))
                    .Any(p => p.StartsWith("q=", StringComparison.OrdinalIgnoreCase) && double.TryParse(p[2..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var q) && q <= 0);
                if (!refused)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static async Task Text(HttpResponse response, int status, string text)
    {
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        var body = Encoding.UTF8.GetBytes(text);
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(response.HttpContext.Request.Method))
        {
            await response.Body.WriteAsync(body);
        }
    }

    private sealed class Application(MetricsServer server) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => server.HandleAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }

    private sealed class EmptyServices
    {
        public static readonly IServiceProvider Instance = new ServiceCollection().BuildServiceProvider();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 12030, Level = LogLevel.Information, Message = "Serving metrics on {Address} (/metrics, /healthz, /readyz)")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(EventId = 12031, Level = LogLevel.Information, Message = "The metrics endpoint is off (--metrics-listen is empty)")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(EventId = 12032, Level = LogLevel.Warning, Message = "The metrics endpoint's address or limits changed ({Old} to {New}); they take effect at the next restart")]
        public static partial void ListenNotReloaded(ILogger logger, string old, string @new);
    }
}
