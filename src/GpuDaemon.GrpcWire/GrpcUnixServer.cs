using GpuDaemon.GrpcWire.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.GrpcWire;

/// <summary>
/// A gRPC server on one unix-domain socket: Kestrel, HTTP/2 only (prior knowledge, as the kubelet dials),
/// with no host or DI container around it so that many can be started and stopped cheaply.
/// </summary>
public sealed partial class GrpcUnixServer : IAsyncDisposable
{
    private readonly GrpcServiceMap _services;
    private readonly GrpcServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private KestrelServer? _server;

    public GrpcUnixServer(string socketPath, GrpcServiceMap services, ILoggerFactory loggerFactory, GrpcServerOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        _services = services;
        _options = options ?? new GrpcServerOptions();
        _loggerFactory = loggerFactory;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger<GrpcUnixServer>();
    }

    public string SocketPath { get; }

    /// <summary>Open connections, calls in progress and buffered request bytes, for tests and metrics.</summary>
    internal GrpcServerCounters Counters { get; } = new();

    /// <summary>Replaces any stale socket file, listens, and returns once calls are being accepted.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_server is not null)
        {
            throw new InvalidOperationException($"gRPC server on {SocketPath} is already started");
        }

        var directory = Path.GetDirectoryName(SocketPath);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"cannot serve on {SocketPath}: directory {directory} does not exist");
        }

        File.Delete(SocketPath);

        var kestrelOptions = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = EmptyServices.Instance,
        };
        // No body size or data-rate limit: ListAndWatch's response is endless and may be quiet for hours. The
        // request side is bounded by the gRPC layer instead (message size, request-body deadline, byte budgets).
        var limits = kestrelOptions.Limits;
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MaxRequestBufferSize = GrpcLimits.MaxTransportBufferBytes;
        limits.Http2.MaxStreamsPerConnection = _options.MaxStreamsPerConnection;
        limits.Http2.InitialConnectionWindowSize = GrpcLimits.InitialConnectionWindowBytes;
        limits.Http2.InitialStreamWindowSize = GrpcLimits.InitialStreamWindowBytes;
        kestrelOptions.ListenUnixSocket(SocketPath, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.Use(next => connection => TrackConnectionAsync(connection, next));
        });

        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), _loggerFactory);
        var server = new KestrelServer(Options.Create(kestrelOptions), transport, _loggerFactory);
        var dispatcher = new GrpcRequestDispatcher(_services, _options, _timeProvider, Counters, _loggerFactory.CreateLogger<GrpcRequestDispatcher>(), _stopping.Token);
        try
        {
            await server.StartAsync(new DispatchingApplication(dispatcher), cancellationToken);
        }
        catch
        {
            // A failed bind (the path is not writable, say) is retried by the caller: nothing may be left behind.
            server.Dispose();
            throw;
        }

        _server = server;

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(SocketPath, _options.SocketFileMode);
        }

        Log.Listening(_logger, SocketPath);
    }

    /// <summary>Removes the socket, ends running calls (streams see their token cancelled), stops listening.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        var server = Interlocked.Exchange(ref _server, null);
        if (server is null)
        {
            return;
        }

        // The socket goes first: once a stream has ended, nobody can find the old server any more.
        TryDeleteSocket();
        await _stopping.CancelAsync();
        try
        {
            await server.StopAsync(cancellationToken);
        }
        finally
        {
            server.Dispose();
            Log.Stopped(_logger, SocketPath);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await StopAsync(timeout.Token);
        _stopping.Dispose();
    }

    /// <summary>
    /// Runs for each accepted connection, before any HTTP/2: enforces the connection limit (a connection over
    /// it is closed at once, so a flood never holds more descriptors than the limit; this does what Kestrel's
    /// MaxConcurrentConnections does, on the counter tests and metrics read), counts the connection, and gives
    /// it the counter of request bytes its streams hold (its items are written here, before any stream reads them).
    /// </summary>
    private async Task TrackConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        if (!Counters.TryOpenConnection(_options.MaxConcurrentConnections))
        {
            Log.ConnectionRejected(_logger, SocketPath, _options.MaxConcurrentConnections);
            return;
        }

        connection.Items[GrpcRequestDispatcher.ConnectionBytesKey] = new ConnectionRequestBytes();

        // The connection stops counting when its socket is closed, not only when Kestrel's processing of it returns:
        // when a burst of reset calls overflows Kestrel's queue of stream output operations, Kestrel resets the
        // socket but drops a stream's completion, and its connection processing then waits for that stream for
        // ever, so next() never returns. The transport still reports the socket's end through ConnectionClosed.
        var counted = new CountedConnection(Counters);
        using var closed = connection.ConnectionClosed.Register(static state => ((CountedConnection)state!).Close(), counted);
        try
        {
            await next(connection);
        }
        finally
        {
            counted.Close();
        }
    }

    /// <summary>Takes an admitted connection off the open count once, whichever of its ends comes first.</summary>
    private sealed class CountedConnection(GrpcServerCounters counters)
    {
        private int _closed;

        public void Close()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                counters.ConnectionClosed();
            }
        }
    }

    private void TryDeleteSocket()
    {
        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class DispatchingApplication(GrpcRequestDispatcher dispatcher) : IHttpApplication<HttpContext>
    {
        /// <summary>
        /// Kestrel keeps a connection's finished HTTP/2 streams for reuse and hands each one's host context back
        /// through <see cref="IHostContextContainer{TContext}"/>: the stream's HttpContext is re-initialised rather
        /// than allocated again for every call.
        /// </summary>
        public HttpContext CreateContext(IFeatureCollection contextFeatures)
        {
            if (contextFeatures is not IHostContextContainer<HttpContext> container)
            {
                return new DefaultHttpContext(contextFeatures);
            }

            if (container.HostContext is DefaultHttpContext reused)
            {
                reused.Initialize(contextFeatures);
                return reused;
            }

            var created = new DefaultHttpContext(contextFeatures);
            container.HostContext = created;
            return created;
        }

        public Task ProcessRequestAsync(HttpContext context) => dispatcher.DispatchAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
            if (context is DefaultHttpContext pooled)
            {
                pooled.Uninitialize();
            }
        }
    }

    private sealed class EmptyServices
    {
        public static readonly IServiceProvider Instance = new ServiceCollection().BuildServiceProvider();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "gRPC server listening on {SocketPath}")]
        public static partial void Listening(ILogger logger, string socketPath);

        [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "gRPC server on {SocketPath} closed a connection: {Limit} connections are already open")]
        public static partial void ConnectionRejected(ILogger logger, string socketPath, int limit);

        [LoggerMessage(EventId = 1011, Level = LogLevel.Debug, Message = "gRPC server on {SocketPath} stopped")]
        public static partial void Stopped(ILogger logger, string socketPath);
    }
}
