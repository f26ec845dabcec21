using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin;

/// <summary>One advertised resource's endpoint as other subsystems see it (metrics, readiness).</summary>
/// <param name="Phase">starting, serving, registered or failing.</param>
/// <param name="LastError">The last problem it hit (a failed bind, a refused registration); null once registered.</param>
public sealed record ResourceStatus(string Resource, bool Registered, string Phase, DateTimeOffset Since, string? LastError);

/// <summary>Where the device plugin stands with the kubelet, resource by resource.</summary>
public interface IDevicePluginStatus
{
    /// <summary>Every advertised resource, ordered by name; empty before the plugin starts.</summary>
    IReadOnlyList<ResourceStatus> Resources { get; }

    /// <summary>True once the plugin has planned its resources (before that, an empty list means "not yet", not "none").</summary>
    bool Started { get; }

    /// <summary>Notified whenever a resource's status changes or the set of resources does.</summary>
    ChangeSignal Changed { get; }
}
