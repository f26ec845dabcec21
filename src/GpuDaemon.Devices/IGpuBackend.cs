namespace GpuDaemon.Devices;

/// <summary>
/// The one seam between GpuDaemon and the GPUs. Implemented by the simulated backend and by NVML;
/// knows nothing of Kubernetes. Only the composition root picks which.
/// </summary>
public interface IGpuBackend : IAsyncDisposable
{
    /// <summary>"simulated", "nvml", …</summary>
    string Name { get; }

    /// <summary>Loads the library or scenario and takes the first inventory. Errors are <see cref="DeviceBackendException"/>.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>The latest snapshot.</summary>
    GpuInventory Inventory { get; }

    /// <summary>Each new snapshot (the current one first), until cancelled.</summary>
    IAsyncEnumerable<GpuInventory> WatchInventoryAsync(CancellationToken cancellationToken);

    /// <summary>Health events from the moment of subscription, until cancelled.</summary>
    IAsyncEnumerable<DeviceEvent> WatchEventsAsync(CancellationToken cancellationToken);

    /// <summary>Reads the counters of one GPU now. Must be cheap enough to call at every scrape.</summary>
    GpuTelemetry ReadTelemetry(string uuid);

    /// <summary>Checks that one GPU answers; used to decide whether a faulted GPU has recovered.</summary>
    HealthProbe ProbeHealth(string uuid);
}
