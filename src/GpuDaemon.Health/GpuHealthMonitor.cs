using System.Globalization;
using GpuDaemon.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Health;

/// <summary>
/// Decides each GPU's health from the device layer's events and periodic probes. A fault makes the GPU
/// unhealthy at once; a GPU whose probes then stay clean for the recovery period, with no new fault, is
/// healthy again — no restart needed. Every transition is logged with its reason. This is the one probe
/// loop of the process: backends probe only when asked.
/// </summary>
internal sealed partial class GpuHealthMonitor : IGpuHealth, IHostedService, IAsyncDisposable, ILoopStatus
{
    private static readonly TimeSpan EventRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one GPU's health check may take. A check answers in milliseconds; one still running after 5 s
    /// is a hung driver call: the GPU is unhealthy, and nobody waits on that call again. It is real time, not
    /// the <see cref="TimeProvider"/>'s: it bounds a native call, which runs on the wall clock.
    /// </summary>
    public static readonly TimeSpan DefaultProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly IGpuBackend _backend;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private readonly IDisposable? _optionsSubscription;
    private HealthOptions _options;
    private ITimer? _probeTimer;
    private Task _eventLoop = Task.CompletedTask;
    private volatile bool _started;
    private BoundedHealthChecks _checks;

    public GpuHealthMonitor(IGpuBackend backend, IOptionsMonitor<HealthOptions> options, TimeProvider timeProvider, ILogger<GpuHealthMonitor> logger)
    {
        _backend = backend;
        _options = options.CurrentValue;
        _timeProvider = timeProvider;
        _logger = logger;
        _optionsSubscription = options.OnChange(Update);
        _checks = new BoundedHealthChecks(backend.ProbeHealth, DefaultProbeTimeout);
        _checks.Answered += OnAnswered;
    }

    public ChangeSignal Changed { get; } = new();

    public string LoopName => "health";

    /// <summary>The device-event loop retries its own failures; it ends only when stopping, or on a fault it did not expect.</summary>
    public string? LoopProblem => _eventLoop switch
    {
        { IsFaulted: true } loop => $"the device-event loop failed: {loop.Exception?.InnerException?.Message.ReplaceLineEndings(" ")}",
        { IsCompleted: true } when _started && !_stopping.IsCancellationRequested => "the device-event loop ended",
        _ => null,
    };

    /// <summary>See <see cref="DefaultProbeTimeout"/>; shorter in tests.</summary>
    internal TimeSpan ProbeTimeout
    {
        get => _checks.Timeout;
        init
        {
            _checks = new BoundedHealthChecks(_backend.ProbeHealth, value);
            _checks.Answered += OnAnswered;
        }
    }

    /// <summary>Health checks started and not yet answered (hung ones included); at most one per GPU.</summary>
    internal int ProbesRunning => _checks.Running;

    /// <summary>The options in force.</summary>
    public HealthOptions Options
    {
        get
        {
            lock (_gate)
            {
                return _options;
            }
        }
    }

    /// <summary>Probes every GPU once, subscribes to device events and starts the probe timer. The backend must be started.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var events = _backend.WatchEventsAsync(_stopping.Token).GetAsyncEnumerator(_stopping.Token);
        _eventLoop = Task.Run(() => ConsumeEventsAsync(events), CancellationToken.None);
        _started = true;
        ProbeAll();
        lock (_gate)
        {
            _probeTimer = _timeProvider.CreateTimer(_ => ProbeAll(), null, _options.ProbeInterval, _options.ProbeInterval);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _probeTimer?.Dispose();
            _probeTimer = null;
        }

        await _stopping.CancelAsync();
        try
        {
            await _eventLoop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public GpuHealthVerdict Verdict(string gpuUuid)
    {
        lock (_gate)
        {
            if (!_options.HealthChecks)
            {
                return new GpuHealthVerdict(true, "health checks are off", DateTimeOffset.MinValue);
            }

            if (_states.TryGetValue(gpuUuid, out var state))
            {
                return state.Verdict;
            }
        }

        return _backend.Inventory.FindByUuid(gpuUuid) is null
            ? new GpuHealthVerdict(false, "GPU is no longer present", _timeProvider.GetUtcNow())
            : new GpuHealthVerdict(true, "not yet probed", DateTimeOffset.MinValue);
    }

    public GpuHealthVerdict ProbeNow(string gpuUuid)
    {
        if (Options.HealthChecks)
        {
            Probe(gpuUuid);
        }

        return Verdict(gpuUuid);
    }

    /// <summary>Probes every GPU: catches silent failures and moves faulted GPUs towards recovery.</summary>
    internal void ProbeAll()
    {
        if (!Options.HealthChecks)
        {
            return;
        }

        var gpus = _backend.Inventory.Gpus;
        ForgetRemoved(gpus);
        var runs = gpus.Select(gpu => _checks.Start(gpu.Uuid)).ToList();
        foreach (var run in runs)
        {
            Await(run);
        }
    }

    /// <summary>A GPU gone from the inventory keeps no verdict of its own: it reads as no longer present.</summary>
    private void ForgetRemoved(IReadOnlyList<GpuDevice> gpus)
    {
        lock (_gate)
        {
            if (_states.Count <= gpus.Count && _states.Keys.All(uuid => gpus.Any(g => g.Uuid == uuid)))
            {
                return;
            }

            var present = gpus.Select(g => g.Uuid).ToHashSet(StringComparer.Ordinal);
            foreach (var uuid in _states.Keys.Where(uuid => !present.Contains(uuid)).ToList())
            {
                _states.Remove(uuid);
            }
        }
    }

    internal void Handle(DeviceEvent deviceEvent)
    {
        var options = Options;
        if (!options.HealthChecks)
        {
            return;
        }

        switch (deviceEvent.Kind)
        {
            case DeviceEventKind.Xid when deviceEvent.XidCode is { } code && options.IgnoredXids.Contains(code):
                Log.XidIgnored(_logger, deviceEvent.Uuid, code);
                return;
            case DeviceEventKind.Xid:
                MarkUnhealthy(deviceEvent.Uuid, string.Create(CultureInfo.InvariantCulture, $"Xid {deviceEvent.XidCode} ({deviceEvent.Reason})"));
                LookNow(deviceEvent.Uuid);
                return;
            case DeviceEventKind.EccDoubleBit:
                MarkUnhealthy(deviceEvent.Uuid, $"double-bit ECC error ({deviceEvent.Reason})");
                LookNow(deviceEvent.Uuid);
                return;
            case DeviceEventKind.Lost:
                MarkUnhealthy(deviceEvent.Uuid, $"GPU lost ({deviceEvent.Reason})");
                return;
            case DeviceEventKind.ProbeFailed:
                MarkUnhealthy(deviceEvent.Uuid, $"health check failed ({deviceEvent.Reason})");
                return;
            case DeviceEventKind.Recovered:
                Probe(deviceEvent.Uuid);
                return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per registration that resolves to it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _optionsSubscription?.Dispose();
        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    /// <summary>
    /// A reload keeps the probe schedule unless the interval itself changed: restarting the countdown on
    /// every reload let frequent reloads starve recovery.
    /// </summary>
    private void Update(HealthOptions options, string? name)
    {
        lock (_gate)
        {
            var previous = _options;
            _options = options;
            if (options.ProbeInterval != previous.ProbeInterval)
            {
                _probeTimer?.Change(options.ProbeInterval, options.ProbeInterval);
            }

            if (previous.HealthChecks && !options.HealthChecks)
            {
                _states.Clear();
            }
        }

        Changed.Notify();
    }

    /// <summary>Handles device events until stopped; a failed subscription is logged and taken again.</summary>
    private async Task ConsumeEventsAsync(IAsyncEnumerator<DeviceEvent> events)
    {
        while (true)
        {
            try
            {
                await using (events)
                {
                    while (await events.MoveNextAsync())
                    {
                        Handle(events.Current);
                    }
                }

                Log.EventsFailed(_logger, "the backend ended its event stream");
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.EventsFailed(_logger, ex.Message);
            }

            try
            {
                await Task.Delay(EventRetryDelay, _timeProvider, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            events = _backend.WatchEventsAsync(_stopping.Token).GetAsyncEnumerator(_stopping.Token);
        }
    }

    /// <summary>Checks one GPU and waits for the answer, at most <see cref="ProbeTimeout"/> from the check's start.</summary>
    private void Probe(string uuid) => Await(_checks.Start(uuid));

    /// <summary>
    /// After a fault event, checks the GPU at once without waiting on the event thread (an Xid such as 79
    /// often means the GPU is gone); a check that hangs is caught by the next scheduled probe's deadline.
    /// </summary>
    private void LookNow(string uuid) => _ = _checks.Start(uuid, faultsOnly: true);

    /// <summary>A check that misses its deadline makes the GPU unhealthy (once per check).</summary>
    private void Await(BoundedHealthChecks.Run run)
    {
        if (_checks.WaitFoundHung(run))
        {
            MarkUnhealthy(run.Uuid, $"health check did not answer within {Durations.Format(ProbeTimeout)}");
        }
    }

    private void OnAnswered(string uuid, HealthProbe probe, bool faultsOnly, TimeSpan? late)
    {
        if (late is { } after)
        {
            Log.ProbeAnsweredLate(_logger, uuid, after.TotalSeconds);
        }

        // A look right after a fault event only looks for a worse fault; recovery is judged by scheduled checks.
        if (Options.HealthChecks && !(faultsOnly && probe.Healthy))
        {
            Apply(uuid, probe);
        }
    }

    private void Apply(string uuid, HealthProbe probe)
    {
        var now = _timeProvider.GetUtcNow();
        if (!probe.Healthy)
        {
            MarkUnhealthy(uuid, $"health check failed ({probe.Reason})");
            return;
        }

        var recovered = false;
        TimeSpan downFor = default;
        lock (_gate)
        {
            if (!_states.TryGetValue(uuid, out var state))
            {
                _states[uuid] = new State(new GpuHealthVerdict(true, "healthy at start", now));
                return;
            }

            if (state.Verdict.Healthy)
            {
                return;
            }

            var period = _options.RecoveryPeriod;
            state.CleanSince ??= now;
            if (now - state.CleanSince >= period && now - state.LastFaultAt >= period)
            {
                downFor = now - state.Verdict.Since;
                state.Verdict = new GpuHealthVerdict(true, $"recovered: health checks clean for {Durations.Format(period)} after: {state.Verdict.Reason}", now);
                state.CleanSince = null;
                recovered = true;
            }
        }

        if (recovered)
        {
            Log.Recovered(_logger, uuid, downFor.TotalSeconds);
            Changed.Notify();
        }
    }

    private void MarkUnhealthy(string uuid, string reason)
    {
        var now = _timeProvider.GetUtcNow();
        var transition = false;
        lock (_gate)
        {
            if (!_states.TryGetValue(uuid, out var state))
            {
                _states[uuid] = state = new State(new GpuHealthVerdict(true, "healthy at start", now));
            }

            state.LastFaultAt = now;
            state.CleanSince = null;
            if (state.Verdict.Healthy)
            {
                state.Verdict = new GpuHealthVerdict(false, reason, now);
                transition = true;
            }
        }

        if (transition)
        {
            Log.BecameUnhealthy(_logger, uuid, reason);
            Changed.Notify();
        }
    }

    private sealed class State(GpuHealthVerdict verdict)
    {
        public GpuHealthVerdict Verdict { get; set; } = verdict;

        public DateTimeOffset LastFaultAt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset? CleanSince { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "GPU {Uuid} is now unhealthy: {Reason}")]
        public static partial void BecameUnhealthy(ILogger logger, string uuid, string reason);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "GPU {Uuid} is healthy again after {DownSeconds:0.#}s: its health checks stayed clean for the recovery period")]
        public static partial void Recovered(ILogger logger, string uuid, double downSeconds);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "GPU {Uuid} reported Xid {Xid}, which is on the ignore list; health unchanged")]
        public static partial void XidIgnored(ILogger logger, string uuid, int xid);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "GPU {Uuid}: the health check that did not answer in time returned after {Seconds:0.#}s; checks go on")]
        public static partial void ProbeAnsweredLate(ILogger logger, string uuid, double seconds);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "GPU health events stopped ({Problem}); probes go on, subscribing again in 1s")]
        public static partial void EventsFailed(ILogger logger, string problem);
    }
}
