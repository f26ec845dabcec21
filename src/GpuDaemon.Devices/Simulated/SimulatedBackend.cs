using System.Globalization;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Devices.Simulated;

/// <summary>
/// GPUs that exist only in a scenario: N deterministic ones, or a JSON file that is re-read when it
/// changes so faults can be injected into a running daemon. A broken edit is logged and ignored;
/// the last good scenario stays in force.
/// </summary>
public sealed partial class SimulatedBackend : IGpuBackend
{
    /// <summary>How often the file is re-read in case no change notification arrives (some mounts send none).</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The largest scenario file read, in bytes (4 MiB): 64 GPUs with long Xid histories take well under 1 MiB;
    /// a larger file is the wrong path and is refused rather than read whole into memory on every change.
    /// </summary>
    public const long MaxScenarioFileBytes = 4L * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly string? _path;
    private readonly SimulationScenario? _fixed;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _pollInterval;
    private readonly bool _useChangeNotifications;
    private readonly ILogger _logger;
    private readonly Broadcast<GpuInventory> _inventories = new();
    private readonly Broadcast<DeviceEvent> _events = new();
    private readonly Dictionary<string, int> _xidsSeen = new(StringComparer.Ordinal);
    private volatile SimulationScenario _scenario = new();
    private volatile GpuInventory _inventory = GpuInventory.Empty;
    private FileChangeMonitor? _monitor;
    private readonly DateTimeOffset _startedAt;

    private SimulatedBackend(string? path, SimulationScenario? fixedScenario, TimeProvider timeProvider, TimeSpan pollInterval, ILogger logger, bool useChangeNotifications = true)
    {
        _useChangeNotifications = useChangeNotifications;
        _path = path is null ? null : Path.GetFullPath(path);
        _fixed = fixedScenario;
        _timeProvider = timeProvider;
        _pollInterval = pollInterval;
        _logger = logger;
        _startedAt = timeProvider.GetUtcNow();
    }

    public string Name => "simulated";

    public GpuInventory Inventory => _inventory;

    public static SimulatedBackend FromCount(int count, TimeProvider timeProvider, ILogger logger)
    {
        if (count is < 0 or > DefaultScenario.MaxGpus)
        {
            throw new DeviceBackendException(string.Create(CultureInfo.InvariantCulture,
                $"--simulate {count} is out of range: simulate 0 to {DefaultScenario.MaxGpus} GPUs, or describe them in a file with --simulation FILE"));
        }

        return new SimulatedBackend(null, DefaultScenario.Create(count), timeProvider, DefaultPollInterval, logger);
    }

    public static SimulatedBackend FromScenario(SimulationScenario scenario, TimeProvider timeProvider, ILogger logger)
    {
        ScenarioReader.Validate(scenario, "(in memory)");
        return new SimulatedBackend(null, scenario, timeProvider, DefaultPollInterval, logger);
    }

    /// <param name="useChangeNotifications">False to rely on polling alone (tests that step a manual clock).</param>
    public static SimulatedBackend FromFile(string path, TimeProvider timeProvider, ILogger logger, TimeSpan? pollInterval = null, bool useChangeNotifications = true) =>
        new(path, null, timeProvider, pollInterval ?? DefaultPollInterval, logger, useChangeNotifications);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_fixed is not null)
        {
            Apply(_fixed, initial: true);
            return Task.CompletedTask;
        }

        var path = _path!;
        string text;
        try
        {
            if (!FileChangeMonitor.TryReadAllText(path, MaxScenarioFileBytes, out text))
            {
                throw new DeviceBackendException(string.Create(CultureInfo.InvariantCulture,
                    $"simulation file {path} is larger than {ByteSizes.Format(MaxScenarioFileBytes)}, the most GpuDaemon reads; check that the path names the scenario file"));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DeviceBackendException($"cannot read simulation file {path}: {ex.Message.TrimEnd('.')}. Check the path, or use --simulate N for N default GPUs.", ex);
        }

        lock (_gate)
        {
            Apply(ScenarioReader.Parse(text, path), initial: true);
        }

        // No quiet period: a fault written into the file reaches the plugin at once (writers replace the file whole).
        _monitor = new FileChangeMonitor(path, text, ApplyText, _timeProvider, new FileChangeMonitorOptions
        {
            PollInterval = _pollInterval,
            QuietPeriod = TimeSpan.Zero,
            MaxBytes = MaxScenarioFileBytes,
            UseChangeNotifications = _useChangeNotifications,
        }, _logger);
        return Task.CompletedTask;
    }

    /// <summary>Re-reads the scenario file now; true if its content changed and the new scenario was valid.</summary>
    public bool Reload()
    {
        var before = _scenario;
        return _monitor is not null && _monitor.CheckNow() && !ReferenceEquals(before, _scenario);
    }

    private void ApplyText(string text)
    {
        lock (_gate)
        {
            try
            {
                Apply(ScenarioReader.Parse(text, _path!), initial: false);
            }
            catch (DeviceBackendException ex)
            {
                Log.ScenarioRejected(_logger, ex.Message);
            }
        }
    }

    public IAsyncEnumerable<GpuInventory> WatchInventoryAsync(CancellationToken cancellationToken) =>
        _inventories.SubscribeAsync(() => _inventory, cancellationToken);

    public IAsyncEnumerable<DeviceEvent> WatchEventsAsync(CancellationToken cancellationToken) =>
        _events.SubscribeAsync(null, cancellationToken);

    public GpuTelemetry ReadTelemetry(string uuid)
    {
        var gpu = Find(uuid) ?? throw new DeviceBackendException($"no simulated GPU has UUID {uuid}");
        if (gpu.Lost)
        {
            throw new DeviceBackendException($"simulated GPU {uuid} is lost (lost: true in the scenario); no telemetry");
        }

        return new GpuTelemetry
        {
            Uuid = uuid,
            Timestamp = _timeProvider.GetUtcNow(),
            GpuUtilizationPercent = gpu.UtilizationPercent,
            MemoryUtilizationPercent = Math.Round(100.0 * gpu.MemoryUsedMiB / gpu.MemoryMiB, 1),
            MemoryUsedMiB = gpu.MemoryUsedMiB,
            MemoryFreeMiB = gpu.MemoryMiB - gpu.MemoryUsedMiB - (gpu.MemoryReservedMiB ?? 0),
            MemoryReservedMiB = gpu.MemoryReservedMiB,
            MemoryTotalMiB = gpu.MemoryMiB,
            TemperatureC = gpu.TemperatureC,
            PowerWatts = gpu.PowerWatts,
            SmClockMHz = SimulatedSmClockMHz,
            MemoryClockMHz = SimulatedMemoryClockMHz,
            TotalEnergyJoules = Math.Round(gpu.PowerWatts * (_timeProvider.GetUtcNow() - _startedAt).TotalSeconds, 3),
            PcieReplayCount = gpu.PcieReplays,
            EncoderUtilizationPercent = 0,
            DecoderUtilizationPercent = 0,
            MemoryTemperatureC = gpu.MemoryTemperatureC ?? gpu.TemperatureC + 6,
            RowRemapFailure = gpu.Degradation?.RemappingFailed ?? false,
            RemappedRowsCorrectable = gpu.RemappedRowsCorrectable,
            RemappedRowsUncorrectable = gpu.RemappedRowsUncorrectable,
            GrEngineActiveRatio = gpu.Gpm ? gpu.UtilizationPercent / 100.0 : null,
            TensorActiveRatio = gpu.Gpm ? gpu.TensorActive ?? gpu.UtilizationPercent / 200.0 : null,
            DramActiveRatio = gpu.Gpm ? Math.Round((double)gpu.MemoryUsedMiB / gpu.MemoryMiB / 2, 4) : null,
        };
    }

    /// <summary>Simulated GPUs run at an H100's boost clocks.</summary>
    public const double SimulatedSmClockMHz = 1980;

    public const double SimulatedMemoryClockMHz = 2619;

    public HealthProbe ProbeHealth(string uuid)
    {
        var gpu = Find(uuid);
        if (gpu is null)
        {
            return HealthProbe.Failed($"no simulated GPU has UUID {uuid}");
        }

        if (gpu.Lost)
        {
            return HealthProbe.Failed("GPU is lost (lost: true in the scenario)");
        }

        return gpu.Healthy ? HealthProbe.Ok : HealthProbe.Failed("GPU fails its health check (healthy: false in the scenario)");
    }

    public ValueTask DisposeAsync()
    {
        _monitor?.Dispose();
        return ValueTask.CompletedTask;
    }

    private SimulatedGpu? Find(string uuid) => _scenario.Gpus.FirstOrDefault(g => string.Equals(g.Uuid, uuid, StringComparison.Ordinal));

    private void Apply(SimulationScenario next, bool initial)
    {
        var previous = _scenario;
        var now = _timeProvider.GetUtcNow();
        var events = initial ? [] : DiffEvents(previous, next, now);
        foreach (var gpu in next.Gpus)
        {
            // Xids already in the file when it is first read are history; later appends are new faults.
            if (initial)
            {
                _xidsSeen[gpu.Uuid] = gpu.Xid.Count;
            }
        }

        _scenario = next;
        var inventory = ToInventory(next);
        var inventoryChanged = !inventory.IsEquivalentTo(_inventory);
        if (inventoryChanged)
        {
            _inventory = inventory;
        }

        Log.ScenarioApplied(_logger, _path ?? "(built in)", next.Gpus.Count, events.Count);
        foreach (var deviceEvent in events)
        {
            Log.EventRaised(_logger, deviceEvent);
            _events.Publish(deviceEvent);
        }

        if (inventoryChanged)
        {
            _inventories.Publish(inventory);
        }
    }

    private List<DeviceEvent> DiffEvents(SimulationScenario previous, SimulationScenario next, DateTimeOffset now)
    {
        var events = new List<DeviceEvent>();
        var before = previous.Gpus.ToDictionary(g => g.Uuid, StringComparer.Ordinal);
        foreach (var gpu in next.Gpus)
        {
            before.TryGetValue(gpu.Uuid, out var old);
            var seen = _xidsSeen.GetValueOrDefault(gpu.Uuid, old?.Xid.Count ?? 0);
            for (var i = Math.Min(seen, gpu.Xid.Count); i < gpu.Xid.Count; i++)
            {
                events.Add(new DeviceEvent(DeviceEventKind.Xid, gpu.Uuid, now, "simulated Xid", gpu.Xid[i]));
            }

            _xidsSeen[gpu.Uuid] = gpu.Xid.Count;

            var wasLost = old?.Lost ?? false;
            var wasHealthy = old?.Healthy ?? true;
            if (gpu.Lost && !wasLost)
            {
                events.Add(new DeviceEvent(DeviceEventKind.Lost, gpu.Uuid, now, "lost: true in the scenario"));
            }
            else if (!gpu.Healthy && wasHealthy && !gpu.Lost)
            {
                events.Add(new DeviceEvent(DeviceEventKind.ProbeFailed, gpu.Uuid, now, "healthy: false in the scenario"));
            }

            if (!gpu.Lost && gpu.Healthy && (wasLost || !wasHealthy))
            {
                events.Add(new DeviceEvent(DeviceEventKind.Recovered, gpu.Uuid, now, "the scenario marks the GPU healthy again"));
            }

            before.Remove(gpu.Uuid);
        }

        foreach (var removed in before.Keys)
        {
            events.Add(new DeviceEvent(DeviceEventKind.Lost, removed, now, "the GPU was removed from the scenario"));
            _xidsSeen.Remove(removed);
        }

        return events;
    }

    private static GpuInventory ToInventory(SimulationScenario scenario)
    {
        var driver = new DriverInfo(scenario.Driver.Version, scenario.Driver.CudaVersion, scenario.Driver.Loaded);
        var gpus = new List<GpuDevice>(scenario.Gpus.Count);
        for (var i = 0; i < scenario.Gpus.Count; i++)
        {
            var gpu = scenario.Gpus[i];
            gpus.Add(new GpuDevice
            {
                Index = i,
                Uuid = gpu.Uuid,
                Model = gpu.Model,
                MemoryMiB = gpu.MemoryMiB,
                PciBusId = gpu.PciBusId ?? DefaultScenario.PciBusIdFor(i),
                MinorNumber = gpu.MinorNumber ?? i,
                NumaNode = gpu.NumaNode,
                NvLinkPeers = [.. gpu.NvlinkPeers],
                Mig = ToMig(gpu),
                ComputeCapability = SimulatedComputeCapability.Resolve(gpu.Model, gpu.ComputeCapability),
            });
        }

        return new GpuInventory(driver, gpus);
    }

    private static MigState ToMig(SimulatedGpu gpu)
    {
        if (gpu.Mig is null)
        {
            return MigState.NotCapable;
        }

        var instances = gpu.Mig.Instances
            .Select((m, k) => new MigInstance(
                m.Uuid ?? string.Create(CultureInfo.InvariantCulture, $"MIG-{gpu.Uuid.Replace("GPU-", string.Empty, StringComparison.Ordinal)}-{k + 1}"),
                m.Profile,
                m.MemoryMiB,
                GpuInstanceId: k + 1,
                ComputeInstanceId: 0))
            .ToList();
        return new MigState(Capable: true, gpu.Mig.Enabled, instances);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Simulation {Source}: {GpuCount} GPUs, {EventCount} new events")]
        public static partial void ScenarioApplied(ILogger logger, string source, int gpuCount, int eventCount);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Simulation change ignored, previous scenario kept: {Problem}")]
        public static partial void ScenarioRejected(ILogger logger, string problem);


        [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Simulated device event: {DeviceEvent}")]
        public static partial void EventRaised(ILogger logger, DeviceEvent deviceEvent);


    }
}
