using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.PodResources.V1;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.PodResources;

/// <summary>
/// Keeps <see cref="IPodAttribution"/> current: one loop calls the kubelet's List on a period and soon after
/// every requested refresh (an Allocate), one call at a time, and swaps in the new map. Readers only read the
/// last map. A failed call keeps the last good map and turns <see cref="Up"/> false; the reason is logged
/// once per change of state, not once per attempt.
/// </summary>
internal sealed partial class PodAttributionService : IPodAttribution, IHostedService, IAsyncDisposable
{
    /// <summary>
    /// The largest List answer read. A node's answer is about 200 bytes per container holding devices, so
    /// even 110 pods of 10 containers with CPU and memory assignments stay well under 1 MiB; 16 MiB leaves
    /// room for far denser nodes while bounding what a broken or hostile kubelet socket can make us buffer.
    /// </summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    /// <summary>How long one List may take. The kubelet answers from memory in milliseconds; 2 s only ends calls that hang.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Calls start at least this far apart, whatever asks for them: at most 5 per second, far under the
    /// kubelet's limit for this socket (burst 10, 100 per second), which other node agents share.
    /// </summary>
    public static readonly TimeSpan MinCallInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A requested refresh waits this long first: the kubelet records an allocation after the plugin has
    /// answered Allocate, so an immediate List could miss it; requests within the wait share one call.
    /// </summary>
    public static readonly TimeSpan RequestedRefreshDelay = TimeSpan.FromMilliseconds(200);

    private const long NotWaiting = long.MinValue;

    private readonly IAdvertisedDevices _advertised;
    private readonly PluginActivity _activity;
    private readonly IOptionsMonitor<PodAttributionOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ChangeSignal _wake = new();
    private readonly ChangeSignal _refreshed = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly IDisposable? _optionsSubscription;
    private IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> _map = AttributionMap.Empty;
    private volatile bool _up;
    private bool _requested;
    private DateTimeOffset _requestedAt;
    private DateTimeOffset? _lastStart;
    private DateTimeOffset? _lastEnd;
    private string? _state;
    private GrpcUnixClient? _client;
    private Task _running = Task.CompletedTask;
    private int _disposed;
    private bool _failing;
    private int _calls;
    private long _waitingUntilTicks = NotWaiting;

    public PodAttributionService(IAdvertisedDevices advertised, PluginActivity activity, IOptionsMonitor<PodAttributionOptions> options, TimeProvider timeProvider, ILogger<PodAttributionService> logger)
    {
        _advertised = advertised;
        _activity = activity;
        _options = options;
        _time = timeProvider;
        _logger = logger;
        _optionsSubscription = options.OnChange((_, _) => _wake.Notify());
    }

    public bool Up => _up;

    public bool Enabled => _options.CurrentValue.Enabled;

    public IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> ContainersByDevice => Volatile.Read(ref _map);

    /// <summary>Notified when a refresh has ended and when the loop starts waiting (tests follow the loop by it).</summary>
    internal ChangeSignal Progress { get; } = new();

    /// <summary>When the loop, now waiting, next calls List; null while it is not waiting on the clock.</summary>
    internal DateTimeOffset? WaitingUntil
    {
        get
        {
            var ticks = Interlocked.Read(ref _waitingUntilTicks);
            return ticks == NotWaiting ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        private set => Interlocked.Exchange(ref _waitingUntilTicks, value?.UtcTicks ?? NotWaiting);
    }

    /// <summary>List calls made.</summary>
    internal int Calls => Volatile.Read(ref _calls);

    public void RequestRefresh()
    {
        lock (_gate)
        {
            if (_requested)
            {
                return;
            }

            _requested = true;
            _requestedAt = _time.GetUtcNow();
        }

        _wake.Notify();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _running;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _optionsSubscription?.Dispose();
        await StopAsync(CancellationToken.None);
        _client?.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var allocations = FollowAllocationsAsync(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    await StepAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    // A bug, not the kubelet: say so once per streak, and go on after a period rather than stop attributing.
                    _up = false;
                    if (!_failing)
                    {
                        _failing = true;
                        Log.LoopFailed(_logger, ex);
                    }

                    // The next good answer is logged as current again (event 13001).
                    _state = null;
                    _lastEnd = _time.GetUtcNow();
                    Progress.Notify();
                }
            }
        }
        finally
        {
            await allocations;
        }
    }

    private async Task FollowAllocationsAsync(CancellationToken cancellationToken)
    {
        var signal = _activity.Allocated;
        var seen = signal.Version;
        try
        {
            while (true)
            {
                await signal.WaitForChangeAsync(seen, cancellationToken);
                seen = signal.Version;
                var refreshes = _refreshed.Version;
                RequestRefresh();

                // One wake-up per refresh, not one per Allocate: the Allocates made until the refresh it asked for
                // is done are folded into the next request. While attribution is off no refresh comes, and
                // Allocates cost this loop nothing.
                await _refreshed.WaitForChangeAsync(refreshes, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Either waits (for the next due time or a wake-up) or makes one call.</summary>
    private async Task StepAsync(CancellationToken cancellationToken)
    {
        var seen = _wake.Version;
        var options = _options.CurrentValue;
        if (!options.Enabled)
        {
            Transition("off", () => Log.Off(_logger));
            _up = false;
            Volatile.Write(ref _map, AttributionMap.Empty);
            await WaitAsync(null, seen, cancellationToken);
            return;
        }

        var now = _time.GetUtcNow();
        var due = NextDue(options, now);
        if (due > now)
        {
            await WaitAsync(due - now, seen, cancellationToken);
            return;
        }

        lock (_gate)
        {
            _requested = false;
        }

        _lastStart = now;
        try
        {
            await RefreshAsync(options, cancellationToken);
        }
        finally
        {
            _refreshed.Notify();
        }

        _lastEnd = _time.GetUtcNow();
        if (_failing)
        {
            _failing = false;
            Log.LoopRecovered(_logger);
        }

        Progress.Notify();
    }

    private DateTimeOffset NextDue(PodAttributionOptions options, DateTimeOffset now)
    {
        var due = _lastEnd is { } end ? end + options.RefreshPeriod : now;
        lock (_gate)
        {
            if (_requested && _requestedAt + RequestedRefreshDelay < due)
            {
                due = _requestedAt + RequestedRefreshDelay;
            }
        }

        if (_lastStart is { } start && start + MinCallInterval > due)
        {
            due = start + MinCallInterval;
        }

        return due;
    }

    private async Task WaitAsync(TimeSpan? delay, long seen, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var woken = _wake.WaitForChangeAsync(seen, waiting.Token);
        var elapsed = delay is { } d ? Task.Delay(d, _time, waiting.Token) : Task.Delay(Timeout.Infinite, waiting.Token);
        WaitingUntil = delay is { } span ? _time.GetUtcNow() + span : null;
        Progress.Notify();
        try
        {
            await Task.WhenAny(woken, elapsed);
        }
        finally
        {
            WaitingUntil = null;
            await waiting.CancelAsync();
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task RefreshAsync(PodAttributionOptions options, CancellationToken cancellationToken)
    {
        var client = ClientFor(options.SocketPath);
        Interlocked.Increment(ref _calls);
        try
        {
            var response = await client.UnaryAsync(PodResourcesApi.List, new ListPodResourcesRequest(), CallTimeout, cancellationToken);
            var map = AttributionMap.Build(response, _advertised.Current);
            Volatile.Write(ref _map, map);
            _up = true;
            Transition("up", () => Log.Up(_logger, options.SocketPath, response.PodResources.Count, map.Count));
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            _up = false;
            var missing = !File.Exists(options.SocketPath);
            var reason = ex.StatusCode switch
            {
                _ when missing => $"the socket {options.SocketPath} does not exist (is the kubelet's pod-resources directory mounted into this container?)",
                GrpcStatusCode.DeadlineExceeded => $"List on {options.SocketPath} did not answer within {Durations.Format(CallTimeout)}",
                GrpcStatusCode.ResourceExhausted => $"List on {options.SocketPath} was refused or too large (limit {MaxResponseBytes / (1024 * 1024)} MiB): {ex.Detail}",
                _ => $"List on {options.SocketPath} failed: {ex.StatusCode}: {ex.Detail}",
            };
            Transition(missing ? "missing" : ex.StatusCode.ToString(), () => Log.Down(_logger, reason, Durations.Format(options.RefreshPeriod)));
        }
    }

    private GrpcUnixClient ClientFor(string socketPath)
    {
        if (_client?.SocketPath != socketPath)
        {
            _client?.Dispose();
            _client = new GrpcUnixClient(socketPath, _time, MaxResponseBytes);
        }

        return _client;
    }

    /// <summary>Logs only when the state differs from the last one logged.</summary>
    private void Transition(string state, Action log)
    {
        if (_state != state)
        {
            _state = state;
            log();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 13001, Level = LogLevel.Information, Message = "Pod attribution is current: {Socket} listed {Pods} pods, {Devices} of this agent's devices are held by containers")]
        public static partial void Up(ILogger logger, string socket, int pods, int devices);

        [LoggerMessage(EventId = 13002, Level = LogLevel.Warning, Message = "Pod attribution is down: {Reason}. GPU series carry no fresh pod labels (gpudaemon_pod_resources_up 0); retrying every {Period} and after each Allocate")]
        public static partial void Down(ILogger logger, string reason, string period);

        [LoggerMessage(EventId = 13003, Level = LogLevel.Information, Message = "Pod attribution is off (--pod-resources-socket is empty): GPU series carry no pod labels")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(EventId = 13004, Level = LogLevel.Error, Message = "Pod attribution refresh failed unexpectedly; retrying after the refresh period (logged once until a refresh works again)")]
        public static partial void LoopFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 13005, Level = LogLevel.Information, Message = "Pod attribution refreshes work again after an unexpected failure")]
        public static partial void LoopRecovered(ILogger logger);
    }
}
