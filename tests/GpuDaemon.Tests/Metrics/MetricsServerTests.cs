using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GpuDaemon.Devices;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Metrics;

/// <summary>The real Kestrel endpoint on a loopback port: paths, methods, content type, gzip and its bounds.</summary>
public sealed class MetricsServerTests
{
    [Fact]
    public async Task GetMetrics_Served_WithPrometheusContentType()
    {
        await using var server = await StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address };

        using var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TextExposition.ContentType, response.Content.Headers.ContentType!.ToString().Replace("; ", ";", StringComparison.Ordinal).Replace(";", "; ", StringComparison.Ordinal));
        Assert.Contains("answer 42\n", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(response.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task GetMetrics_AcceptEncodingGzip_CompressedBody()
    {
        await using var server = await StartAsync();
        using var client = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = server.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.AcceptEncoding.ParseAdd("gzip");

        using var response = await client.SendAsync(request);

        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        Assert.Contains("answer 42\n", await reader.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip", true)]
    [InlineData("deflate, gzip;q=0.5", true)]
    [InlineData("*", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("identity", false)]
    [InlineData("", false)]
    public void AcceptsGzip_Header_Parsed(string header, bool expected) =>
        Assert.Equal(expected, MetricsServer.AcceptsGzip([header]));

    [Theory]
    [InlineData("/", HttpStatusCode.OK)]
    [InlineData("/healthz", HttpStatusCode.OK)]
    [InlineData("/readyz", HttpStatusCode.ServiceUnavailable)]
    [InlineData("/nope", HttpStatusCode.NotFound)]
    [InlineData("/metrics/x", HttpStatusCode.NotFound)]
    public async Task Get_Path_Status(string path, HttpStatusCode expected)
    {
        await using var server = await StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address };

        using var response = await client.GetAsync(path);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task GetReadyz_CheckNotReady_503NamingTheCheckAndWhy()
    {
        await using var server = await StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address };

        using var response = await client.GetAsync("/readyz");

        Assert.Equal("not ready\nstub: waiting for the test\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GetHealthz_LoopDied_503NamingTheLoop()
    {
        var loop = new StubLoop { Problem = "the device-event loop ended" };
        await using var server = await StartAsync(loop: loop);
        using var client = new HttpClient { BaseAddress = server.Address };

        using var response = await client.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("not ok\nstub-loop: the device-event loop ended\n", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Request_OtherMethod_405WithAllow(string method)
    {
        await using var server = await StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address };

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/metrics"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET, HEAD", string.Join(", ", response.Content.Headers.Allow));
    }

    [Fact]
    public async Task Request_WithBody_413AndConnectionClosed()
    {
        await using var server = await StartAsync();

        var answer = await RawAsync(server.Address!, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Request_HeadersTooLarge_431()
    {
        await using var server = await StartAsync();

        var answer = await RawAsync(server.Address!, $"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', MetricsLimits.DefaultMaxRequestHeadersBytes)}\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 431", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_TooManyHeaders_431()
    {
        await using var server = await StartAsync();
        var headers = string.Concat(Enumerable.Range(0, MetricsLimits.DefaultMaxRequestHeaderCount + 1).Select(i => $"X-H{i}: v\r\n"));

        var answer = await RawAsync(server.Address!, $"GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}\r\n");

        Assert.StartsWith("HTTP/1.1 431", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_LineTooLong_414()
    {
        await using var server = await StartAsync();

        var answer = await RawAsync(server.Address!, $"GET /{new string('a', MetricsLimits.DefaultMaxRequestLineBytes)} HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 414", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_Http2PriorKnowledge_NotSpoken()
    {
        await using var server = await StartAsync();

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address!.Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));

        var answer = await ReadToEndAsync(socket, TimeSpan.FromSeconds(15));

        // Kestrel's only answer to an HTTP/2 preface on an HTTP/1.1 endpoint: GOAWAY (type 7) with
        // HTTP_1_1_REQUIRED (0xd), then the connection is closed.
        Assert.Equal(17, answer.Length);
        Assert.Equal(7, answer[3]);
        Assert.Equal(0xd, answer[^1]);
    }

    [Fact]
    public async Task Connect_PastTheLimit_ClosedAtOnceOthersKeepWorking()
    {
        await using var server = await StartAsync(new MetricsLimits { MaxConnections = 3 });
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.Address!.Port);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(endpoint);
                held.Add(socket);
            }

            // Each held connection is served: the limit counts them.
            Assert.StartsWith("HTTP/1.1 200", await ExchangeAsync(held[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);

            using var extra = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await extra.ConnectAsync(endpoint);
            var buffer = new byte[256];
            var segment = new ArraySegment<byte>(buffer);
            await extra.SendAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
            int read;
            try
            {
                read = await extra.ReceiveAsync(segment, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (SocketException)
            {
                read = 0;
            }

            Assert.Equal(0, read);
            Assert.StartsWith("HTTP/1.1 200", await ExchangeAsync(held[1], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Scrape_ConcurrentPastTheCap_503RetryAfter()
    {
        using var release = new ManualResetEventSlim();
        var blocking = new BlockingCollector(release);
        await using var server = await StartAsync(new MetricsLimits { MaxConcurrentScrapes = 1 }, collector: blocking);
        using var client = new HttpClient { BaseAddress = server.Address };

        var first = client.GetAsync("/metrics");
        await blocking.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var second = await client.GetAsync("/metrics");
        release.Set();
        using var firstResponse = await first;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal("1", second.Headers.RetryAfter!.ToString());
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(1, server.Server.RejectedScrapes);
    }

    [Fact]
    public async Task Connect_IdleConnection_ClosedAfterRequestHeadersTimeout()
    {
        await using var server = await StartAsync(new MetricsLimits { RequestHeadersTimeout = TimeSpan.FromSeconds(1) });
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address!.Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\n"));

        var answer = await ReadToEndAsync(socket, TimeSpan.FromSeconds(15));

        // Kestrel answers 408 or just closes; either way the connection does not stay open.
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    private static async Task<string> RawAsync(Uri address, string request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, address.Port));
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        return await ReadToEndAsync(socket, TimeSpan.FromSeconds(15), stopAtHeaders: true);
    }

    private static async Task<string> ExchangeAsync(Socket socket, string request)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        return await ReadToEndAsync(socket, TimeSpan.FromSeconds(15), stopAtHeaders: true);
    }

    private static async Task<string> ReadToEndAsync(Socket socket, TimeSpan timeout, bool stopAtHeaders = false)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, cancel.Token);
                if (read == 0)
                {
                    break;
                }

                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
                if (stopAtHeaders && received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }
        catch (SocketException)
        {
        }

        return received.ToString();
    }

    [Fact]
    public async Task Start_EmptyListen_NoEndpointAndOffLoggedOnce()
    {
        var logs = new RecordingLoggerFactory();
        var options = new TestOptionsMonitor<MetricsOptions>(new MetricsOptions { Listen = string.Empty });
        var scraper = new MetricsScraper([new AnswerCollector()], options, TimeProvider.System, NullLogger<MetricsScraper>.Instance);
        await using var server = new MetricsServer(scraper, new ProbeEndpoints([], [new StubReadiness()]), options, logs);

        await server.StartAsync(default);

        Assert.Null(server.Address);
        Assert.Equal(1, logs.Logger.Count(12031));
        Assert.Equal(0, logs.Logger.Count(12030));
    }

    private static async Task<RunningServer> StartAsync(MetricsLimits? limits = null, IMetricsCollector? collector = null, ILoopStatus? loop = null)
    {
        var options = new TestOptionsMonitor<MetricsOptions>(new MetricsOptions { Listen = "127.0.0.1:0", Limits = limits ?? new MetricsLimits() });
        var scraper = new MetricsScraper([collector ?? new AnswerCollector()], options, TimeProvider.System, NullLogger<MetricsScraper>.Instance);
        var probes = new ProbeEndpoints(loop is null ? [] : [loop], [new StubReadiness()]);
        var server = new MetricsServer(scraper, probes, options, NullLoggerFactory.Instance);
        await server.StartAsync(default);
        return new RunningServer(server);
    }

    private sealed class RunningServer(MetricsServer server) : IAsyncDisposable
    {
        public MetricsServer Server => server;

        public Uri? Address => server.Address;

        public ValueTask DisposeAsync() => server.DisposeAsync();
    }

    private sealed class AnswerCollector : IMetricsCollector
    {
        public string Name => "answer";

        public void Collect(MetricsBuilder metrics) => metrics.Gauge("answer", "The answer.", 42);
    }

    private sealed class BlockingCollector(ManualResetEventSlim release) : IMetricsCollector
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "blocking";

        public void Collect(MetricsBuilder metrics)
        {
            Entered.TrySetResult();
            release.Wait();
        }
    }

    private sealed class StubReadiness : IReadinessCheck
    {
        public string Name => "stub";

        public ReadinessResult Check() => new(false, "waiting for the test");
    }

    private sealed class StubLoop : ILoopStatus
    {
        public string? Problem { get; init; }

        public string LoopName => "stub-loop";

        public string? LoopProblem => Problem;
    }
}
