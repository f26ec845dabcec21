using System.Globalization;
using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.DevicePlugin.Health;

/// <summary>
/// Decides each GPU's health from the device layer's events and periodic probes. A fault makes the GPU
/// Unhealthy at once; a GPU whose probes then stay clean for the recovery period, with no new fault, is
/// Healthy again — no restart needed. Every transition is logged with its reason.
/// </summary>
public sealed partial class HealthTracker : IAsyncDisposable
{
    private readonly IGpuBackend _backend;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private PluginConfig _config;
    private ITimer? _probeTimer;
    private Task _eventLoop = Task.CompletedTask;

    public HealthTracker(IGpuBackend backend, PluginConfig config, TimeProvider timeProvider, ILogger logger)
    {
        _backend = backend;
        _config = config;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Notified after every health transition.</summary>
    public ChangeSignal Changed { get; } = new();

    /// <summary>Probes every GPU once, subscribes to device events and starts the probe timer.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var events = _backend.WatchEventsAsync(_stopping.Token).GetAsyncEnumerator(_stopping.Token);
        _eventLoop = Task.Run(() => ConsumeEventsAsync(events), CancellationToken.None);
        ProbeAll();
        _probeTimer = _timeProvider.CreateTimer(_ => ProbeAll(), null, _config.ProbeInterval, _config.ProbeInterval);
        return Task.CompletedTask;
    }

    public void UpdateConfig(PluginConfig config)
    {
        lock (_gate)
        {
            var wasOn = _config.HealthChecks;
            _config = config;
            _probeTimer?.Change(config.ProbeInterval, config.ProbeInterval);
            if (wasOn && !config.HealthChecks)
            {
                _states.Clear();
            }
        }

        Changed.Notify();
    }

    public DeviceHealth Get(string gpuUuid)
    {
        lock (_gate)
        {
            if (!_config.HealthChecks)
            {
                return new DeviceHealth(true, "health checks are off", DateTimeOffset.MinValue);
            }

            if (_states.TryGetValue(gpuUuid, out var state))
            {
                return state.Health;
            }
        }

        return _backend.Inventory.FindByUuid(gpuUuid) is null
            ? new DeviceHealth(false, "GPU is no longer present", _timeProvider.GetUtcNow())
            : new DeviceHealth(true, "not yet probed", DateTimeOffset.MinValue);
    }

    /// <summary>Probes one GPU now (used just before a container starts); a failure marks it Unhealthy.</summary>
    public DeviceHealth ProbeNow(string gpuUuid)
    {
        Probe(gpuUuid);
        return Get(gpuUuid);
    }

    /// <summary>Probes every GPU: catches silent failures and moves faulted GPUs towards recovery.</summary>
    public void ProbeAll()
    {
        if (!_config.HealthChecks)
        {
            return;
        }

        foreach (var gpu in _backend.Inventory.Gpus)
        {
            Probe(gpu.Uuid);
        }
    }

    public void Handle(DeviceEvent deviceEvent)
    {
        var config = _config;
        if (!config.HealthChecks)
        {
            return;
        }

        switch (deviceEvent.Kind)
        {
            case DeviceEventKind.Xid when deviceEvent.XidCode is { } code && config.IgnoredXids.Contains(code):
                Log.XidIgnored(_logger, deviceEvent.Uuid, code);
                return;
            case DeviceEventKind.Xid:
                MarkUnhealthy(deviceEvent.Uuid, string.Create(CultureInfo.InvariantCulture, $"Xid {deviceEvent.XidCode} ({deviceEvent.Reason})"));
                return;
            case DeviceEventKind.EccDoubleBit:
                MarkUnhealthy(deviceEvent.Uuid, $"double-bit ECC error ({deviceEvent.Reason})");
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
        await _stopping.CancelAsync();
        _probeTimer?.Dispose();
        try
        {
            await _eventLoop;
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    private async Task ConsumeEventsAsync(IAsyncEnumerator<DeviceEvent> events)
    {
        await using (events)
        {
            try
            {
                while (await events.MoveNextAsync())
                {
                    Handle(events.Current);
                }
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
        }
    }

    private void Probe(string uuid)
    {
        var probe = _backend.ProbeHealth(uuid);
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
                _states[uuid] = new State(new DeviceHealth(true, "healthy at start", now));
                return;
            }

            if (state.Health.Healthy)
            {
                return;
            }

            state.CleanSince ??= now;
            if (now - state.CleanSince >= _config.RecoveryPeriod && now - state.LastFaultAt >= _config.RecoveryPeriod)
            {
                downFor = now - state.Health.Since;
                state.Health = new DeviceHealth(true, $"recovered: health checks clean for {_config.RecoveryPeriod.TotalSeconds:0.###}s after: {state.Health.Reason}", now);
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
                _states[uuid] = state = new State(new DeviceHealth(true, "healthy at start", now));
            }

            state.LastFaultAt = now;
            state.CleanSince = null;
            if (state.Health.Healthy)
            {
                state.Health = new DeviceHealth(false, reason, now);
                transition = true;
            }
        }

        if (transition)
        {
            Log.BecameUnhealthy(_logger, uuid, reason);
            Changed.Notify();
        }
    }

    private sealed class State(DeviceHealth health)
    {
        public DeviceHealth Health { get; set; } = health;

        public DateTimeOffset LastFaultAt { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset? CleanSince { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "GPU {Uuid} is now Unhealthy: {Reason}")]
        public static partial void BecameUnhealthy(ILogger logger, string uuid, string reason);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "GPU {Uuid} is Healthy again after {DownSeconds:0.#}s: its health checks stayed clean for the recovery period")]
        public static partial void Recovered(ILogger logger, string uuid, double downSeconds);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "GPU {Uuid} reported Xid {Xid}, which is on the ignore list; health unchanged")]
        public static partial void XidIgnored(ILogger logger, string uuid, int xid);
    }
}
