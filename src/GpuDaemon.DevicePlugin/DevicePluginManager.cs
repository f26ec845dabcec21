using GpuDaemon.DevicePlugin.Health;
using GpuDaemon.DevicePlugin.Kubelet;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.DevicePlugin.Serving;
using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.DevicePlugin;

/// <summary>
/// Runs the device plugin: one registered endpoint per resource, kept in step with the GPUs and the
/// config. When either changes, only resources whose devices or options changed are re-registered.
/// </summary>
public sealed partial class DevicePluginManager : IAsyncDisposable
{
    private readonly IGpuBackend _backend;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RunningEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly ChangeSignal _directoryChanged = new();
    private readonly ChangeSignal _configChanged = new();
    private PluginConfig _config;
    private FileSystemWatcher? _watcher;

    public DevicePluginManager(IGpuBackend backend, PluginConfig config, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        config.Validate();
        _backend = backend;
        _config = config;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<DevicePluginManager>();
        Health = new HealthTracker(backend, config, timeProvider, loggerFactory.CreateLogger<HealthTracker>());
    }

    public HealthTracker Health { get; }

    /// <summary>Notified whenever the set of endpoints changes.</summary>
    public ChangeSignal EndpointsChanged { get; } = new();

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

    /// <summary>Serves until cancelled. The backend must already be started.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var initial = ResourcePlanner.Plan(_backend.Inventory, _config);
        await Health.StartAsync(cancellationToken);
        WatchDirectory();
        Apply(initial, _config, cancellationToken);

        var inventoryLoop = FollowInventoryAsync(cancellationToken);
        try
        {
            while (true)
            {
                var seen = _configChanged.Version;
                await _configChanged.WaitForChangeAsync(seen, cancellationToken);
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
        }
    }

    /// <summary>Takes a new config (a reload); applied by the running loop.</summary>
    public void UpdateConfig(PluginConfig config)
    {
        config.Validate();
        lock (_gate)
        {
            _config = config;
        }

        Health.UpdateConfig(config);
        _configChanged.Notify();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAllAsync();
        _watcher?.Dispose();
        await Health.DisposeAsync();
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
        PluginConfig config;
        lock (_gate)
        {
            config = _config;
        }

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

        Apply(plans, config, cancellationToken);
    }

    private void Apply(IReadOnlyList<ResourcePlan> plans, PluginConfig config, CancellationToken cancellationToken)
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
                var plugin = new ResourcePlugin(plan, config, Health, _loggerFactory.CreateLogger<ResourcePlugin>());
                var endpoint = new ResourceEndpoint(plugin, _directoryChanged, _timeProvider, _loggerFactory);
                var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
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
    }

    /// <summary>Config fields that change what a running endpoint serves (the plan covers the devices).</summary>
    private static bool SameServing(PluginConfig a, PluginConfig b) =>
        a.PreStartRequired == b.PreStartRequired
        && a.DeviceListStrategy == b.DeviceListStrategy
        && a.DeviceIdStrategy == b.DeviceIdStrategy
        && a.DevRoot == b.DevRoot
        && a.FailRequestsGreaterThanOne == b.FailRequestsGreaterThanOne
        && a.ReplicaPolicy == b.ReplicaPolicy
        && a.DevicePluginDir == b.DevicePluginDir
        && a.KubeletCheckInterval == b.KubeletCheckInterval;

    private void WatchDirectory()
    {
        try
        {
            _watcher = new FileSystemWatcher(_config.DevicePluginDir)
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
            Log.WatchUnavailable(_logger, _config.DevicePluginDir, ex.Message);
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
                // A failed endpoint must not keep its successor (same socket path) from starting.
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

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Cannot watch {Directory} ({Problem}); relying on periodic checks for kubelet restarts")]
        public static partial void WatchUnavailable(ILogger logger, string directory, string problem);
    }
}
