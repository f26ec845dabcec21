using GpuDaemon.DevicePlugin;

namespace GpuDaemon.Metrics;

/// <summary>Ready when the device plugin has started and every resource it advertises is registered with the kubelet.</summary>
internal sealed class DevicePluginReadiness(IDevicePluginStatus plugin) : IReadinessCheck
{
    public string Name => "device-plugin";

    public ReadinessResult Check()
    {
        if (!plugin.Started)
        {
            return new ReadinessResult(false, "the device plugin has not started");
        }

        var resources = plugin.Resources;
        var waiting = resources.Where(r => !r.Registered).ToList();
        if (waiting.Count == 0)
        {
            return new ReadinessResult(true, $"registered with the kubelet: {string.Join(", ", resources.Select(r => r.Resource))}");
        }

        return new ReadinessResult(false, string.Join("; ", waiting.Select(r =>
            $"{r.Resource} is {r.Phase}, not registered with the kubelet" + (r.LastError is { } error ? $" ({error})" : string.Empty))));
    }
}
