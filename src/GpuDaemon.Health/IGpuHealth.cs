using GpuDaemon.Devices;

namespace GpuDaemon.Health;

/// <summary>
/// The health verdict of every GPU, shared by every subsystem (device plugin, metrics, validator, demo).
/// Readers turn a verdict into their own vocabulary; the kubelet's "Healthy"/"Unhealthy" is the device plugin's.
/// </summary>
public interface IGpuHealth
{
    /// <summary>Notified after every change of any GPU's verdict, and when the health options change.</summary>
    ChangeSignal Changed { get; }

    /// <summary>The current verdict for one GPU; a GPU no longer present is unhealthy.</summary>
    GpuHealthVerdict Verdict(string gpuUuid);

    /// <summary>Probes one GPU now (just before a container starts, say) and returns its verdict after that.</summary>
    GpuHealthVerdict ProbeNow(string gpuUuid);
}
