using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin;

/// <summary>
/// Whether the device plugin may advertise GPUs now. While it is closed the plugin serves no resource (no socket,
/// no registration) and logs why; when it opens, the resources are planned and registered as usual. Without one
/// registered, the plugin advertises at once.
/// </summary>
public interface IAdvertisingGate
{
    bool IsOpen { get; }

    /// <summary>Why it is open or closed, as one line.</summary>
    string Reason { get; }

    /// <summary>Notified whenever <see cref="IsOpen"/> or <see cref="Reason"/> may have changed.</summary>
    ChangeSignal Changed { get; }
}
