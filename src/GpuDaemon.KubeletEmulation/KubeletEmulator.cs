using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Devices;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.KubeletEmulation;

/// <summary>
/// The kubelet's side of the device-plugin contract, in-process: serves Registration on kubelet.sock,
/// dials each plugin back inside Register, watches its device list, allocates, and restarts the way the
/// kubelet does. Used by <c>gpudaemon demo</c> and as the tests' fake kubelet.
/// </summary>
public sealed partial class KubeletEmulator : IAsyncDisposable
{
    private readonly string _directory;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, EmulatedPlugin> _plugins = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private GrpcUnixServer? _server;

    public KubeletEmulator(string directory, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _directory = directory;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<KubeletEmulator>();
    }

    public string SocketPath => Path.Combine(_directory, KubeletConstants.KubeletSocketName);

    /// <summary>Notified on every registration, device-list message and stream end.</summary>
    public ChangeSignal Changed { get; } = new();

    public IReadOnlyList<EmulatedPlugin> Plugins
    {
        get
        {
            lock (_gate)
            {
                return [.. _plugins.Values];
            }
        }
    }

    public EmulatedPlugin? Find(string resource)
    {
        lock (_gate)
        {
            return _plugins.GetValueOrDefault(resource);
        }
    }

    /// <summary>Starts as the kubelet does: clears the directory (all but the checkpoint), then serves kubelet.sock.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_directory);
        RemoveSockets();
        var services = new GrpcServiceMap().MapUnary(DevicePluginApi.Register, RegisterAsync);
        _server = new GrpcUnixServer(SocketPath, services, _loggerFactory, timeProvider: _timeProvider);
        await _server.StartAsync(cancellationToken);
    }

    /// <summary>A kubelet restart: stop, delete every socket (not the checkpoint), serve kubelet.sock again.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (_server is { } server)
        {
            await server.DisposeAsync();
        }

        await StartAsync(cancellationToken);
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the plugin of <paramref name="resource"/>.</summary>
    public async Task<EmulatedPlugin> WaitForAsync(string resource, Func<EmulatedPlugin, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var seen = Changed.Version;
            if (Find(resource) is { } plugin && condition(plugin))
            {
                return plugin;
            }

            try
            {
                await Changed.WaitForChangeAsync(seen, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"kubelet emulator: {resource} did not reach the expected state within {timeout.TotalSeconds:0.#}s");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_server is { } server)
        {
            await server.DisposeAsync();
        }

        foreach (var plugin in Plugins)
        {
            plugin.Dispose();
        }

        _stopping.Dispose();
    }

    // The kubelet clears the directory of plugin sockets; everything but its checkpoint goes.
    private void RemoveSockets()
    {
        foreach (var file in Directory.EnumerateFiles(_directory))
        {
            if (Path.GetFileName(file) != KubeletConstants.CheckpointFileName)
            {
                File.Delete(file);
            }
        }
    }

    private async Task<Empty> RegisterAsync(RegisterRequest request, ServerCallContext call)
    {
        if (request.Version != KubeletConstants.Version)
        {
            throw new RpcException(GrpcStatusCode.Unknown, $"unsupported device plugin API version {request.Version}");
        }

        if (ResourceName.Validate(request.ResourceName) is { } problem)
        {
            throw new RpcException(GrpcStatusCode.Unknown, problem);
        }

        if (string.IsNullOrEmpty(request.Endpoint) || request.Endpoint.Contains('/', StringComparison.Ordinal))
        {
            throw new RpcException(GrpcStatusCode.Unknown, $"endpoint '{request.Endpoint}' must be a bare socket file name");
        }

        var client = new GrpcUnixClient(Path.Combine(_directory, request.Endpoint), _timeProvider);
        DevicePluginOptions options;
        try
        {
            options = await client.UnaryAsync(DevicePluginApi.GetDevicePluginOptions, new Empty(), TimeSpan.FromSeconds(10), call.CancellationToken);
        }
        catch (RpcException ex)
        {
            client.Dispose();
            throw new RpcException(GrpcStatusCode.Unknown, $"cannot reach plugin at {request.Endpoint}: {ex.Detail}");
        }

        var plugin = new EmulatedPlugin(request.ResourceName, request.Endpoint, options, client, _timeProvider.GetUtcNow());
        EmulatedPlugin? previous;
        lock (_gate)
        {
            _plugins.TryGetValue(request.ResourceName, out previous);
            _plugins[request.ResourceName] = plugin;
        }

        previous?.Dispose();
        Log.PluginRegistered(_logger, request.ResourceName, request.Endpoint);
        _ = WatchAsync(plugin);
        Changed.Notify();
        return new Empty();
    }

    private async Task WatchAsync(EmulatedPlugin plugin)
    {
        try
        {
            await foreach (var list in plugin.Client.ServerStreamingAsync(DevicePluginApi.ListAndWatch, new Empty(), cancellationToken: plugin.Stopping))
            {
                plugin.Update(list);
                Changed.Notify();
            }
        }
        catch (RpcException)
        {
        }

        plugin.MarkStreamEnded();
        Changed.Notify();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Kubelet emulator: {Resource} registered at {Endpoint}")]
        public static partial void PluginRegistered(ILogger logger, string resource, string endpoint);
    }
}
