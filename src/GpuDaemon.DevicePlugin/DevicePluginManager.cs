using GpuDaemon.DevicePlugin.Kubelet;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using GpuDaemon.Health;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.DevicePlugin;

/// <summary>
/// Runs the device plugin: one registered endpoint per resource, kept in step with the GPUs, their health
/// and the options. When the GPUs or the options change, only resources whose devices or options changed are
/// re-registered. Stopping stops serving, ends the ListAndWatch streams and removes the sockets.
/// </summary>
internal sealed partial class DevicePluginManager : IHostedService, IAsyncDisposable, IAdvertisedDevices, IDevicePluginStatus, ILoopStatus
{
    private readonly IGpuBackend _backend;
    private readonly IGpuHealth _health;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RunningEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly ChangeSignal _directoryChanged = new();
    private readonly ChangeSignal _optionsChanged = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;
    private bool _started;
    private readonly IDisposable? _optionsSubscription;
    private readonly IAdvertisingGate? _advertisingGate;
    private string? _gateReasonLogged;
    private PluginOptions _options;
    private FileSystemWatcher? _watcher;
    private Task _running = Task.CompletedTask;

    /// <param name="advertisingGate">While closed, nothing is advertised (serve --require-validation); null: always advertise.</param>
    /// <param name="activity">Where Allocate calls and registrations are counted; null: a private one.</param>
    public DevicePluginManager(IGpuBackend backend, IGpuHealth health, IOptionsMonitor<PluginOptions> options, TimeProvider timeProvider, ILoggerFactory loggerFactory,
        IAdvertisingGate? advertisingGate = null, PluginActivity? activity = null)
    {
        _advertisingGate = advertisingGate;
        Activity = activity ?? new PluginActivity();
        _backend = backend;
        _health = health;
        _options = options.CurrentValue;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<DevicePluginManager>();
        _optionsSubscription = options.OnChange((next, _) => UpdateOptions(next));
    }

    /// <summary>Notified whenever the set of endpoints changes.</summary>
    public ChangeSignal EndpointsChanged { get; } = new();

    /// <summary>Notified whenever an endpoint's <see cref="EndpointState"/> changes, or the set of endpoints does.</summary>
    public ChangeSignal StatesChanged { get; } = new();

    /// <summary>
    /// Each advertised resource's endpoint: serving, registered, or failing with the last error. Ready means
    /// every one is <see cref="EndpointPhase.Registered"/> (what the readiness endpoint reports).
    /// </summary>
    public IReadOnlyList<EndpointState> States
    {
        get
        {
            lock (_gate)
            {
                return _endpoints.Values.Select(e => e.Endpoint.State).OrderBy(s => s.Resource, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>Registrations and Allocate calls of every endpoint, for metrics.</summary>
    public PluginActivity Activity { get; }

    IReadOnlyList<ResourceStatus> IDevicePluginStatus.Resources =>
        [.. States.Select(s => new ResourceStatus(s.Resource, s.Phase == EndpointPhase.Registered, s.Phase.ToString().ToLowerInvariant(), s.Since, s.LastError))];

    bool IDevicePluginStatus.Started => Volatile.Read(ref _started);

    ChangeSignal IDevicePluginStatus.Changed => StatesChanged;

    public string LoopName => "device-plugin";

    /// <summary>The manager's loop ends only when stopping; anything else is a fault it did not expect.</summary>
    public string? LoopProblem => _running switch
    {
        { IsFaulted: true } loop => $"the device plugin's loop failed: {loop.Exception?.InnerException?.Message.ReplaceLineEndings(" ")}",
        { IsCompleted: true } when Volatile.Read(ref _started) && !_stopping.IsCancellationRequested => "the device plugin's loop ended",
        _ => null,
    };

    /// <summary>The options in force.</summary>
    public PluginOptions Options
    {
        get
        {
            lock (_gate)
            {
                return _options;
            }
        }
    }

    public IReadOnlyList<ResourceEndpoint> Endpoints
    {
        get
        {
            lock (_gate)
            {
                return _endpoints.Values.Select(e => e.Endpoint).ToList();
            }
        }
    }

    /// <inheritdoc />
    public AdvertisedDeviceSet Current
    {
        get
        {
            lock (_gate)
            {
                return new AdvertisedDeviceSet(_endpoints.Values.Select(e => e.Endpoint.Plugin.Plan));
            }
        }
    }

    /// <summary>
    /// Plans the resources and starts serving them. The backend must already be started. A plan the GPUs
    /// cannot satisfy (a MIG strategy, say) is a <see cref="PlanException"/> here, at start-up.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var options = Options;
        var initial = ResourcePlanner.Plan(_backend.Inventory, options);
        WatchDirectory(options.DevicePluginDir);
        Apply(Gated(initial), options);
        Volatile.Write(ref _started, true);
        StatesChanged.Notify();
        _running = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    /// <summary>Stops serving: every endpoint ends its streams and removes its socket.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _running;
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
        await StopAllAsync();
        _watcher?.Dispose();
        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var inventoryLoop = FollowInventoryAsync(cancellationToken);
        var gateLoop = FollowGateAsync(cancellationToken);
        try
        {
            while (true)
            {
                var seen = _optionsChanged.Version;
                await _optionsChanged.WaitForChangeAsync(seen, cancellationToken);
                Replan(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            await StopAllAsync();
            await inventoryLoop;
            await gateLoop;
        }
    }

    /// <summary>Takes new options (a reload); applied by the running loop.</summary>
    private void UpdateOptions(PluginOptions options)
    {
        lock (_gate)
        {
            _options = options;
        }

        _optionsChanged.Notify();
    }

    private async Task FollowInventoryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var unused in _backend.WatchInventoryAsync(cancellationToken))
            {
                Replan(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Replan(CancellationToken cancellationToken)
    {
        var config = Options;

        IReadOnlyList<ResourcePlan> plans;
        try
        {
            plans = ResourcePlanner.Plan(_backend.Inventory, config);
        }
        catch (PlanException ex)
        {
            Log.PlanRejected(_logger, ex.Message);
            return;
        }

        if (!cancellationToken.IsCancellationRequested)
        {
            lock (_gate)
            {
                WatchDirectory(config.DevicePluginDir);
            }

            Apply(Gated(plans), config);
        }
    }

    /// <summary>The plans while the advertising gate is open, none while it is closed; logs each change of its reason once.</summary>
    private IReadOnlyList<ResourcePlan> Gated(IReadOnlyList<ResourcePlan> plans)
    {
        if (_advertisingGate is not { } gate)
        {
            return plans;
        }

        var open = gate.IsOpen;
        var reason = gate.Reason;
        lock (_gate)
        {
            var key = (open ? "open: " : "closed: ") + reason;
            if (_gateReasonLogged != key)
            {
                _gateReasonLogged = key;
                if (open)
                {
                    Log.GateOpen(_logger, reason);
                }
                else
                {
                    Log.WaitingForValidation(_logger, reason);
                }
            }
        }

        return open ? plans : [];
    }

    private async Task FollowGateAsync(CancellationToken cancellationToken)
    {
        if (_advertisingGate is not { } gate)
        {
            return;
        }

        try
        {
            var seen = gate.Changed.Version;
            while (true)
            {
                await gate.Changed.WaitForChangeAsync(seen, cancellationToken);
                seen = gate.Changed.Version;
                Replan(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Apply(IReadOnlyList<ResourcePlan> plans, PluginOptions config)
    {
        var stopping = new List<RunningEndpoint>();
        lock (_gate)
        {
            var wanted = plans.ToDictionary(p => p.ResourceName, StringComparer.Ordinal);
            foreach (var (name, running) in _endpoints.ToList())
            {
                var plugin = running.Endpoint.Plugin;
                if (wanted.TryGetValue(name, out var plan) && plan.SameDevicesAs(plugin.Plan) && SameServing(plugin.Config, config))
                {
                    wanted.Remove(name);
                    continue;
                }

                stopping.Add(running);
                _endpoints.Remove(name);
                Log.ResourceChanged(_logger, name, wanted.ContainsKey(name) ? "its devices or options changed; re-registering" : "it is no longer advertised");
            }

            foreach (var plan in wanted.Values)
            {
                var plugin = new ResourcePlugin(plan, config, _health, _loggerFactory.CreateLogger<ResourcePlugin>(), Activity);
                var endpoint = new ResourceEndpoint(plugin, _directoryChanged, _timeProvider, _loggerFactory, StatesChanged);
                var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var previous = stopping.FirstOrDefault(s => s.Endpoint.Plugin.Plan.ResourceName == plan.ResourceName);
                var run = Task.Run(async () =>
                {
                    if (previous is not null)
                    {
                        // The same socket path is about to be served again: the old server must be gone first.
                        await previous.StopAsync();
                    }

                    await endpoint.RunAsync(cancellation.Token);
                }, CancellationToken.None);
                _endpoints[plan.ResourceName] = new RunningEndpoint(endpoint, cancellation, run, _logger);
            }
        }

        foreach (var old in stopping)
        {
            _ = old.StopAsync();
        }

        EndpointsChanged.Notify();
        StatesChanged.Notify();
    }

    /// <summary>Config fields that change what a running endpoint serves (the plan covers the devices).</summary>
    private static bool SameServing(PluginOptions a, PluginOptions b) =>
        a.PreStartRequired == b.PreStartRequired
        && a.DeviceListStrategy == b.DeviceListStrategy
        && a.DeviceIdStrategy == b.DeviceIdStrategy
        && a.DevRoot == b.DevRoot
        && a.FailRequestsGreaterThanOne == b.FailRequestsGreaterThanOne
        && a.ReplicaPolicy == b.ReplicaPolicy
        && a.DevicePluginDir == b.DevicePluginDir
        && a.KubeletCheckInterval == b.KubeletCheckInterval;

    /// <summary>Watches the device-plugin directory for kubelet restarts; again from scratch when a reload moves it.</summary>
    private void WatchDirectory(string directory)
    {
        if (_watcher?.Path == directory)
        {
            return;
        }

        _watcher?.Dispose();
        _watcher = null;
        try
        {
            _watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.CreationTime | NotifyFilters.LastWrite,
            };
            _watcher.Created += (_, _) => _directoryChanged.Notify();
            _watcher.Deleted += (_, _) => _directoryChanged.Notify();
            _watcher.Renamed += (_, _) => _directoryChanged.Notify();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Periodic checks still notice kubelet restarts; notifications only make it faster.
            Log.WatchUnavailable(_logger, directory, ex.Message);
        }
    }

    private async Task StopAllAsync()
    {
        List<RunningEndpoint> all;
        lock (_gate)
        {
            all = [.. _endpoints.Values];
            _endpoints.Clear();
        }

        await Task.WhenAll(all.Select(e => e.StopAsync()));
    }

    private sealed class RunningEndpoint(ResourceEndpoint endpoint, CancellationTokenSource cancellation, Task run, ILogger logger)
    {
        public ResourceEndpoint Endpoint => endpoint;

        public async Task StopAsync()
        {
            try
            {
                await cancellation.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception ex)
            {
                // The endpoint's loop never ends on an error of its own; this is a last guard, so that a
                // failed endpoint cannot keep its successor (same socket path) from starting.
                Log.EndpointFailed(logger, endpoint.Plugin.Plan.ResourceName, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Resource {Resource}: {What}")]
        public static partial void ResourceChanged(ILogger logger, string resource, string what);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "New GPU or config state cannot be advertised, keeping the current resources: {Problem}")]
        public static partial void PlanRejected(ILogger logger, string problem);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Endpoint for {Resource} failed")]
        public static partial void EndpointFailed(ILogger logger, string resource, Exception exception);

        [LoggerMessage(EventId = 11030, Level = LogLevel.Warning, Message = "Advertising no GPUs, waiting for validation: {Reason}")]
        public static partial void WaitingForValidation(ILogger logger, string reason);

        [LoggerMessage(EventId = 11031, Level = LogLevel.Information, Message = "Validation gate open, advertising GPUs: {Reason}")]
        public static partial void GateOpen(ILogger logger, string reason);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Cannot watch {Directory} ({Problem}); relying on periodic checks for kubelet restarts")]
        public static partial void WatchUnavailable(ILogger logger, string directory, string problem);
    }
}
