using GpuDaemon.Devices;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// Another backend whose health check for chosen GPUs blocks until released, as a hung driver call would;
/// counts the checks made per GPU.
/// </summary>
public sealed class HangingBackend(IGpuBackend inner) : IGpuBackend
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _hanging = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _probes = new(StringComparer.Ordinal);
    private readonly ManualResetEventSlim _released = new(initialState: true);

    public string Name => inner.Name;

    public GpuInventory Inventory => inner.Inventory;

    /// <summary>From now on the GPU's health check blocks until <see cref="Release"/>.</summary>
    public void Hang(string uuid)
    {
        lock (_gate)
        {
            _hanging.Add(uuid);
            _released.Reset();
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            _hanging.Clear();
            _released.Set();
        }
    }

    public int Probes(string uuid)
    {
        lock (_gate)
        {
            return _probes.GetValueOrDefault(uuid);
        }
    }

    public HealthProbe ProbeHealth(string uuid)
    {
        bool hang;
        lock (_gate)
        {
            _probes[uuid] = _probes.GetValueOrDefault(uuid) + 1;
            hang = _hanging.Contains(uuid);
        }

        if (hang)
        {
            _released.Wait();
        }

        return inner.ProbeHealth(uuid);
    }

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    public IAsyncEnumerable<GpuInventory> WatchInventoryAsync(CancellationToken cancellationToken) => inner.WatchInventoryAsync(cancellationToken);

    public IAsyncEnumerable<DeviceEvent> WatchEventsAsync(CancellationToken cancellationToken) => inner.WatchEventsAsync(cancellationToken);

    public GpuTelemetry ReadTelemetry(string uuid) => inner.ReadTelemetry(uuid);

    public async ValueTask DisposeAsync()
    {
        Release();
        await inner.DisposeAsync();
    }
}
