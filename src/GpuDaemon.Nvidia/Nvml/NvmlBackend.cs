using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Loading;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// Real GPUs, read through NVML. Start loads the library through <see cref="NativeLibraryResolver"/>,
/// initialises NVML and takes the inventory. Health events come from an NVML event set watched on a
/// thread of its own, started when the first caller watches events; the event thread never calls the
/// driver for anything else, so a hung GPU cannot stall it. A lost GPU is noticed when it is probed
/// (<see cref="ProbeHealth"/>), which the health subsystem does on its own schedule and right after a fault event.
/// </summary>
public sealed class NvmlBackend : IGpuBackend
{
    private readonly NvmlBackendOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Broadcast<GpuInventory> _inventories = new();
    private readonly Broadcast<DeviceEvent> _events = new();
    private readonly GpuHealthTracker _health;
    private readonly Lock _gate = new();
    private volatile NvmlApi? _api; // set last at start: seeing it means the fields below are set
    private NvmlTelemetryReader? _telemetry;
    private IReadOnlyDictionary<string, nint> _handles = new Dictionary<string, nint>();
    private volatile GpuInventory _inventory = GpuInventory.Empty;
    private NvmlEventWatcher? _watcher;
    private bool _watchRequested;
    private bool _disposed;

    public NvmlBackend(NvmlBackendOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _health = new GpuHealthTracker(_events, timeProvider, logger);
    }

    public string Name => "nvml";

    public GpuInventory Inventory => _inventory;

    /// <summary>The library in use, once started.</summary>
    public string? LibraryPath => _api?.LibraryPath;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_api is not null)
            {
                throw new InvalidOperationException("the NVML backend is already started");
            }

            var library = new NativeLibraryResolver(_options.FileSystem).Load(NvidiaLibrary.Nvml, _options.DriverRoot);
            var api = new NvmlApi(library);
            var init = api.Init();
            if (!init.IsSuccess)
            {
                throw new DeviceBackendException(NvmlMessages.InitFailed(api.Error(init), library.Path));
            }

            NvmlSnapshot snapshot;
            try
            {
                snapshot = new NvmlInventoryReader(api, new SysfsNumaReader(_options.FileSystem, _options.SysfsRoot), _logger).Read();
            }
            catch (NvmlException ex)
            {
                api.Shutdown();
                throw new DeviceBackendException(NvmlMessages.ListingFailed(ex, library.Path), ex);
            }

            _telemetry = new NvmlTelemetryReader(api, _logger);
            _handles = snapshot.Handles;
            _inventory = snapshot.Inventory;
            _api = api;
            var driver = snapshot.Inventory.Driver;
            Log.NvmlStarted(_logger, driver.NvmlVersion, library.Path, driver.Version, driver.CudaVersion, snapshot.Inventory.Gpus.Count);
            if (_watchRequested)
            {
                StartWatcher();
            }
        }

        _inventories.Publish(_inventory);
        return Task.CompletedTask;
    }

    /// <summary>The inventory is read once at start; MIG reconfiguration needs a restart to show.</summary>
    public IAsyncEnumerable<GpuInventory> WatchInventoryAsync(CancellationToken cancellationToken) =>
        _inventories.SubscribeAsync(() => _inventory, cancellationToken);

    public IAsyncEnumerable<DeviceEvent> WatchEventsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _watchRequested = true;
            if (_api is not null && !_disposed)
            {
                StartWatcher();
            }
        }

        return _events.SubscribeAsync(null, cancellationToken);
    }

    public GpuTelemetry ReadTelemetry(string uuid)
    {
        var (_, handle) = Find(uuid) ?? throw new DeviceBackendException(NvmlMessages.UnknownGpu(uuid));
        if (_health.IsLost(uuid))
        {
            throw new DeviceBackendException(NvmlMessages.Lost(uuid));
        }

        try
        {
            return _telemetry!.Read(uuid, handle, _timeProvider.GetUtcNow());
        }
        catch (NvmlException ex) when (ex.Code == NvmlReturn.GpuIsLost)
        {
            _health.Lost(uuid, $"NVML reports the GPU lost ({ex.Function})");
            throw new DeviceBackendException(NvmlMessages.Lost(uuid), ex);
        }
    }

    public HealthProbe ProbeHealth(string uuid)
    {
        if (Find(uuid) is not var (api, handle))
        {
            return HealthProbe.Failed(NvmlMessages.UnknownGpu(uuid));
        }

        var status = api.DeviceGetTemperature(handle, out _);
        if (status.IsSuccess || status.IsUnsupported)
        {
            _health.Answering(uuid);
            return HealthProbe.Ok;
        }

        var reason = status.IsLost ? $"NVML reports the GPU lost ({status.Function})" : api.Error(status).Message;
        if (status.IsLost)
        {
            _health.Lost(uuid, reason);
        }
        else
        {
            _health.Failing(uuid, reason);
        }

        return HealthProbe.Failed(reason);
    }

    public ValueTask DisposeAsync()
    {
        NvmlEventWatcher? watcher;
        NvmlApi? api;
        lock (_gate)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            watcher = _watcher;
            api = _api;
        }

        watcher?.Dispose();
        _telemetry?.Dispose();
        if (api?.Shutdown() is { IsSuccess: false } shutdown)
        {
            Log.ShutdownIncomplete(_logger, api.Error(shutdown).Message);
        }

        return ValueTask.CompletedTask;
    }

    private (NvmlApi Api, nint Handle)? Find(string uuid) =>
        _api is { } api && _handles.TryGetValue(uuid, out var handle) ? (api, handle) : null;

    // Called under _gate once NVML is up.
    private void StartWatcher()
    {
        _watcher ??= NvmlEventWatcher.Start(_api!, _handles, _options.EventWaitTimeout, OnEvent, _logger);
    }

    private void OnEvent(string uuid, NvmlEventData data)
    {
        var now = _timeProvider.GetUtcNow();
        DeviceEvent? deviceEvent = data.EventType switch
        {
            NvmlEventTypes.XidCriticalError => new DeviceEvent(DeviceEventKind.Xid, uuid, now, "Xid critical error reported by NVML", (int)Math.Min(data.EventData, int.MaxValue)),
            NvmlEventTypes.DoubleBitEccError => new DeviceEvent(DeviceEventKind.EccDoubleBit, uuid, now, "double-bit ECC error reported by NVML"),
            _ => null,
        };
        if (deviceEvent is not null)
        {
            Log.DeviceEventRaised(_logger, deviceEvent);
            _events.Publish(deviceEvent);
        }
    }
}
