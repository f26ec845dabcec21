using System.Net.Sockets;
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
/// re-registers. A missing or refusing kubelet is retried with capped backoff, never a reason to exit; so is
/// anything else that goes wrong (a socket that cannot be bound, a path taken by something that is not our
/// socket): the loop only ends when it is cancelled. Each distinct problem is logged once, and the current
/// one is in <see cref="State"/>.
/// </summary>
internal sealed partial class ResourceEndpoint
{
    /// <summary>First retry after a failure: quick, because most failures (a kubelet restarting) last milliseconds.</summary>
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);

    /// <summary>Backoff cap: a broken directory costs one attempt every 5 s, and a repaired one is served within 5 s.</summary>
    internal static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(5);

    /// <summary>The kubelet answers Register within milliseconds; 15 s only guards against a hung kubelet.</summary>
    private static readonly TimeSpan RegisterTimeout = TimeSpan.FromSeconds(15);

    private readonly ResourcePlugin _plugin;
    private readonly PluginOptions _config;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly ChangeSignal _directoryChanged;
    private readonly Func<CancellationToken, Task>? _beforeServe;
    private readonly Lock _stateGate = new();
    private EndpointState _state;
    private string? _loggedProblem;
    private int _registrations;

    /// <param name="beforeServe">Runs just before each bind; tests use it to make the bind fail.</param>
    public ResourceEndpoint(ResourcePlugin plugin, ChangeSignal directoryChanged, TimeProvider timeProvider, ILoggerFactory loggerFactory,
        ChangeSignal? stateChanged = null, Func<CancellationToken, Task>? beforeServe = null)
    {
        _plugin = plugin;
        _config = plugin.Config;
        _directoryChanged = directoryChanged;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _beforeServe = beforeServe;
        _logger = loggerFactory.CreateLogger<ResourceEndpoint>();
        StateChanged = stateChanged ?? new ChangeSignal();
        Endpoint = ResourceName.SocketFileName(plugin.Plan.ResourceName);
        SocketPath = Path.Combine(_config.DevicePluginDir, Endpoint);
        _state = new EndpointState(plugin.Plan.ResourceName, EndpointPhase.Starting, timeProvider.GetUtcNow(), null);
    }

    /// <summary>The socket's bare file name, as registered.</summary>
    public string Endpoint { get; }

    public ResourcePlugin Plugin => _plugin;

    public string SocketPath { get; }

    /// <summary>Notified after each successful registration.</summary>
    public ChangeSignal Registered { get; } = new();

    /// <summary>Notified after every change of <see cref="State"/>.</summary>
    public ChangeSignal StateChanged { get; }

    public int Registrations => Volatile.Read(ref _registrations);

    /// <summary>Serving, registered, or failing with the last error.</summary>
    public EndpointState State
    {
        get
        {
            lock (_stateGate)
            {
                return _state;
            }
        }
    }

    /// <summary>Serves and registers until cancelled; never ends on an error (each is logged, shown in <see cref="State"/> and retried).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            TimeSpan? backoff = null;
            var server = new GrpcUnixServer(SocketPath, _plugin.CreateServiceMap(), _loggerFactory, timeProvider: _timeProvider);
            try
            {
                ClearSocketPath();
                if (_beforeServe is not null)
                {
                    await _beforeServe(cancellationToken);
                }

                await server.StartAsync(cancellationToken);
                var served = FileIdentity.Of(SocketPath);
                ServingAgain();
                if (await RegisterAsync(served, cancellationToken))
                {
                    retry = FirstRetry;
                    var (reason, replaced) = await WaitForKubeletRestartAsync(served, cancellationToken);
                    LogGone(reason, replaced);
                    NoLongerRegistered();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                Failed(Problem(ex), retry);
                backoff = retry;
                retry = Durations.DoubledUpTo(retry, MaxRetry);
            }
            finally
            {
                await StopAsync(server);
            }

            if (backoff is { } delay)
            {
                try
                {
                    await WaitAsync(delay, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
            }
        }
    }

    /// <summary>
    /// Our socket's path may hold something else: a file (the server replaces it), or a directory, removed here
    /// when empty. A directory with something in it is not ours to delete: that is a failure, retried.
    /// </summary>
    private void ClearSocketPath()
    {
        if (!Directory.Exists(SocketPath))
        {
            return;
        }

        try
        {
            Directory.Delete(SocketPath, recursive: false);
        }
        catch (IOException)
        {
            throw new IOException($"{SocketPath} is a directory with files in it, not this plugin's socket; remove it");
        }
    }

    private async Task StopAsync(GrpcUnixServer server)
    {
        try
        {
            await server.DisposeAsync();
        }
        catch (Exception ex)
        {
            // Stopping is best effort; the next bind replaces whatever is left.
            Failed($"stopping the server failed: {Problem(ex)}", null);
        }
    }

    private static string Problem(Exception ex)
    {
        var message = ex.Message.ReplaceLineEndings(" ");
        return ex switch
        {
            SocketException socket => $"{message} ({socket.SocketErrorCode}); check the directory exists, is writable and is on a read-write filesystem",
            UnauthorizedAccessException => $"{message}; check the directory is writable by this process",
            IOException => message,
            _ => $"{ex.GetType().Name}: {message}",
        };
    }

    /// <summary>Records a failure; logs it only when it differs from the last one logged, so a lasting problem is one line.</summary>
    private void Failed(string problem, TimeSpan? retry)
    {
        bool log;
        lock (_stateGate)
        {
            log = problem != _loggedProblem;
            _loggedProblem = problem;
            _state = _state with
            {
                Phase = retry is null ? _state.Phase : EndpointPhase.Failing,
                Since = retry is null || _state.Phase == EndpointPhase.Failing ? _state.Since : _timeProvider.GetUtcNow(),
                LastError = problem,
            };
        }

        StateChanged.Notify();
        if (log)
        {
            Log.EndpointFailing(_logger, _plugin.Plan.ResourceName, SocketPath, problem, MaxRetry.TotalSeconds);
        }
    }

    private void ServingAgain()
    {
        string? after;
        lock (_stateGate)
        {
            after = _state.Phase == EndpointPhase.Failing ? _state.LastError : null;
            _state = _state with { Phase = EndpointPhase.Serving, Since = _timeProvider.GetUtcNow() };
        }

        StateChanged.Notify();
        if (after is not null)
        {
            Log.ServingAgain(_logger, _plugin.Plan.ResourceName, SocketPath, after);
        }
    }

    private void SetRegistered()
    {
        lock (_stateGate)
        {
            _loggedProblem = null;
            _state = _state with { Phase = EndpointPhase.Registered, Since = _timeProvider.GetUtcNow(), LastError = null };
        }

        StateChanged.Notify();
    }

    private void NoLongerRegistered()
    {
        lock (_stateGate)
        {
            _state = _state with { Phase = EndpointPhase.Serving, Since = _timeProvider.GetUtcNow() };
        }

        StateChanged.Notify();
    }

    private void RegisterRefused(string problem)
    {
        lock (_stateGate)
        {
            _state = _state with { LastError = problem };
        }

        StateChanged.Notify();
    }

    /// <summary>Registers, retrying until it works; false if our own socket vanished or was replaced meanwhile (serve again).</summary>
    private async Task<bool> RegisterAsync(FileIdentity? served, CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        var attempt = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (NotOurSocket(served) is { } gone)
            {
                LogGone(gone, Taken());
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
                var first = _plugin.Activity.RecordRegistration();
                SetRegistered();
                Log.Registered(_logger, _plugin.Plan.ResourceName, _plugin.Plan.Devices.Count, Endpoint);
                if (first is not null)
                {
                    Log.FirstRegistration(_logger, first.SinceProcessStart.TotalMilliseconds, first.JitTime.TotalMilliseconds, first.JittedMethods);
                }
                Registered.Notify();
                return true;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException ex)
            {
                RegisterRefused($"cannot register with the kubelet at {_config.KubeletSocketPath}: {ex.StatusCode}: {ex.Detail}");
                if (attempt == 1 || attempt % 20 == 0)
                {
                    Log.RegisterFailed(_logger, _plugin.Plan.ResourceName, _config.KubeletSocketPath, ex.StatusCode, ex.Detail, retry.TotalMilliseconds);
                }
            }

            await WaitAsync(retry, cancellationToken, seen);
            retry = Durations.DoubledUpTo(retry, MaxRetry);
        }
    }

    /// <summary>Why the socket path no longer holds the socket we bound (deleted, or something else in its place), or null.</summary>
    private string? NotOurSocket(FileIdentity? served)
    {
        var now = FileIdentity.Of(SocketPath);
        if (now is null)
        {
            return $"{Endpoint} was deleted";
        }

        return now != served ? $"{Endpoint} was replaced by {now.Value.Describe()}" : null;
    }

    /// <summary>Something is at the socket path (not necessarily ours).</summary>
    private bool Taken() => File.Exists(SocketPath) || Directory.Exists(SocketPath);

    private void LogGone(string reason, bool replaced)
    {
        if (replaced)
        {
            Log.SocketReplaced(_logger, SocketPath, reason);
        }
        else
        {
            Log.KubeletRestarted(_logger, _plugin.Plan.ResourceName, reason);
        }
    }

    /// <summary>Waits until the kubelet restarts or our socket is gone; says why, and whether the socket was replaced rather than deleted.</summary>
    private async Task<(string Reason, bool Replaced)> WaitForKubeletRestartAsync(FileIdentity? served, CancellationToken cancellationToken)
    {
        var kubelet = FileIdentity.Of(_config.KubeletSocketPath);
        while (true)
        {
            var seen = _directoryChanged.Version;
            if (NotOurSocket(served) is { } gone)
            {
                return (gone, Taken());
            }

            var now = FileIdentity.Of(_config.KubeletSocketPath);
            if (now is not null && now != kubelet)
            {
                return ($"{KubeletConstants.KubeletSocketName} was recreated", false);
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
        // Cancelled inline: the loser's timer or wait is dropped here, without another hop through the thread pool.
        linked.Cancel();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "First registration {SinceStartMs:0} ms after the process started ({JitMs:0} ms of it compiling {JittedMethods} methods just in time)")]
        public static partial void FirstRegistration(ILogger logger, double sinceStartMs, double jitMs, long jittedMethods);

        [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Registered {Resource} ({DeviceCount} devices) with the kubelet, endpoint {Endpoint}")]
        public static partial void Registered(ILogger logger, string resource, int deviceCount, string endpoint);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Cannot register {Resource} with the kubelet at {KubeletSocket} ({Status}: {Detail}); retrying in {RetryMs}ms, backing off to 5s")]
        public static partial void RegisterFailed(ILogger logger, string resource, string kubeletSocket, GrpcStatusCode status, string detail, double retryMs);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Kubelet restart noticed for {Resource} ({Reason}); serving again and re-registering")]
        public static partial void KubeletRestarted(ILogger logger, string resource, string reason);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Cannot serve {Resource} on {SocketPath}: {Problem}; retrying with backoff up to {MaxRetrySeconds}s (logged again only if the problem changes)")]
        public static partial void EndpointFailing(ILogger logger, string resource, string socketPath, string problem, double maxRetrySeconds);

        [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Serving {Resource} on {SocketPath} again, after: {Problem}")]
        public static partial void ServingAgain(ILogger logger, string resource, string socketPath, string problem);

        [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "{SocketPath} is no longer this plugin's socket ({Reason}); replacing it, serving again and re-registering")]
        public static partial void SocketReplaced(ILogger logger, string socketPath, string reason);
    }
}
