using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.DevicePlugin.Kubelet;

/// <summary>
/// Keeps one resource registered with the kubelet for as long as it runs: serves its socket, registers,
/// and when the kubelet restarts (it deletes every socket, then recreates kubelet.sock) serves again and
/// re-registers. A missing or refusing kubelet is retried with capped backoff, never a reason to exit.
/// </summary>
internal sealed partial class ResourceEndpoint
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RegisterTimeout = TimeSpan.FromSeconds(15);

    private readonly ResourcePlugin _plugin;
    private readonly PluginOptions _config;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ChangeSignal _directoryChanged;
    private int _registrations;

    public ResourceEndpoint(ResourcePlugin plugin, ChangeSignal directoryChanged, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        _plugin = plugin;
        _config = plugin.Config;
        _directoryChanged = directoryChanged;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ResourceEndpoint>();
        Endpoint = ResourceName.SocketFileName(plugin.Plan.ResourceName);
        SocketPath = Path.Combine(_config.DevicePluginDir, Endpoint);
    }

    /// <summary>The socket's bare file name, as registered.</summary>
    public string Endpoint { get; }

    public ResourcePlugin Plugin => _plugin;

    public string SocketPath { get; }

    /// <summary>Notified after each successful registration.</summary>
    public ChangeSignal Registered { get; } = new();

    public int Registrations => Volatile.Read(ref _registrations);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            var server = new GrpcUnixServer(SocketPath, _plugin.CreateServiceMap(), _loggerFactory, timeProvider: _timeProvider);
            try
            {
                try
                {
                    await server.StartAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Log.ServeFailed(_logger, SocketPath, ex.Message);
                    await WaitAsync(retry, cancellationToken);
                    retry = Next(retry);
                    continue;
                }

                if (!await RegisterAsync(cancellationToken))
                {
                    continue;
                }

                retry = FirstRetry;
                var reason = await WaitForKubeletRestartAsync(cancellationToken);
                Log.KubeletRestarted(_logger, _plugin.Plan.ResourceName, reason);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            finally
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>Registers, retrying until it works; false if our own socket vanished meanwhile (serve again).</summary>
    private async Task<bool> RegisterAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        var attempt = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!File.Exists(SocketPath))
            {
                return false;
            }

            attempt++;
            var seen = _directoryChanged.Version;
            try
            {
                using var kubelet = new GrpcUnixClient(_config.KubeletSocketPath, _timeProvider);
                await kubelet.UnaryAsync(DevicePluginApi.Register, new RegisterRequest
                {
                    Version = KubeletConstants.Version,
                    Endpoint = Endpoint,
                    ResourceName = _plugin.Plan.ResourceName,
                    Options = _plugin.Options,
                }, RegisterTimeout, cancellationToken);
                Interlocked.Increment(ref _registrations);
                Log.Registered(_logger, _plugin.Plan.ResourceName, _plugin.Plan.Devices.Count, Endpoint);
                Registered.Notify();
                return true;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException ex)
            {
                if (attempt == 1 || attempt % 20 == 0)
                {
                    Log.RegisterFailed(_logger, _plugin.Plan.ResourceName, _config.KubeletSocketPath, ex.StatusCode, ex.Detail, retry.TotalMilliseconds);
                }
            }

            await WaitAsync(retry, cancellationToken, seen);
            retry = Next(retry);
        }
    }

    private async Task<string> WaitForKubeletRestartAsync(CancellationToken cancellationToken)
    {
        var kubelet = FileIdentity.Of(_config.KubeletSocketPath);
        while (true)
        {
            var seen = _directoryChanged.Version;
            if (!File.Exists(SocketPath))
            {
                return $"{Endpoint} was deleted";
            }

            var now = FileIdentity.Of(_config.KubeletSocketPath);
            if (now is not null && now != kubelet)
            {
                return $"{KubeletConstants.KubeletSocketName} was recreated";
            }

            await WaitAsync(_config.KubeletCheckInterval, cancellationToken, seen);
        }
    }

    /// <summary>Waits for <paramref name="delay"/>, or less if the directory changes after <paramref name="seen"/>.</summary>
    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken, long? seen = null)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(delay, _timeProvider, linked.Token);
        var change = _directoryChanged.WaitForChangeAsync(seen ?? _directoryChanged.Version, linked.Token);
        await Task.WhenAny(timer, change);
        await linked.CancelAsync();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static TimeSpan Next(TimeSpan retry) => retry * 2 > MaxRetry ? MaxRetry : retry * 2;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Registered {Resource} ({DeviceCount} devices) with the kubelet, endpoint {Endpoint}")]
        public static partial void Registered(ILogger logger, string resource, int deviceCount, string endpoint);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Cannot register {Resource} with the kubelet at {KubeletSocket} ({Status}: {Detail}); retrying in {RetryMs}ms, backing off to 5s")]
        public static partial void RegisterFailed(ILogger logger, string resource, string kubeletSocket, GrpcStatusCode status, string detail, double retryMs);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Kubelet restart noticed for {Resource} ({Reason}); serving again and re-registering")]
        public static partial void KubeletRestarted(ILogger logger, string resource, string reason);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Cannot serve on {SocketPath} ({Problem}); retrying")]
        public static partial void ServeFailed(ILogger logger, string socketPath, string problem);
    }
}
