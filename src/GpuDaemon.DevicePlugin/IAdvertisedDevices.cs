using System.Diagnostics.CodeAnalysis;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin;

/// <summary>
/// What the device plugin advertises to the kubelet right now, for readers that must turn the kubelet's
/// device IDs back into devices (pod attribution). Read-only.
/// </summary>
public interface IAdvertisedDevices
{
    /// <summary>The advertised resources and their devices; a new snapshot after every re-plan.</summary>
    AdvertisedDeviceSet Current { get; }
}

/// <summary>An immutable view of advertised devices: (resource, device ID) → the UUID of the GPU or MIG device behind it.</summary>
public sealed class AdvertisedDeviceSet
{
    public static readonly AdvertisedDeviceSet Empty = new([]);

    // Keyed by the ID without its replica suffix: every replica of a device resolves to that device.
    private readonly Dictionary<string, Dictionary<string, string>> _byResource;

    internal AdvertisedDeviceSet(IEnumerable<ResourcePlan> plans)
    {
        _byResource = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var plan in plans)
        {
            var devices = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var device in plan.Devices)
            {
                devices[StripReplica(device.Id)] = device.Mig?.Uuid ?? device.Gpu.Uuid;
            }

            _byResource[plan.ResourceName] = devices;
        }

        ResourceNames = [.. _byResource.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>The extended resources advertised, in ordinal order.</summary>
    public IReadOnlyList<string> ResourceNames { get; }

    public bool Advertises(string resource) => _byResource.ContainsKey(resource);

    /// <summary>
    /// The UUID of the GPU or MIG device behind <paramref name="deviceId"/> of <paramref name="resource"/>, with
    /// a replica suffix (<c>::k</c>) ignored. False for a resource not advertised here, or an ID it does not have.
    /// </summary>
    public bool TryResolve(string resource, string deviceId, [NotNullWhen(true)] out string? deviceUuid)
    {
        deviceUuid = null;
        return _byResource.TryGetValue(resource, out var devices) && devices.TryGetValue(StripReplica(deviceId), out deviceUuid);
    }

    /// <summary><c>GPU-…::3</c> → <c>GPU-…</c>; an ID without a numeric <c>::k</c> suffix is returned as it is.</summary>
    public static string StripReplica(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        var at = deviceId.LastIndexOf(ResourcePlanner.ReplicaSeparator, StringComparison.Ordinal);
        if (at <= 0 || at + ResourcePlanner.ReplicaSeparator.Length == deviceId.Length)
        {
            return deviceId;
        }

        foreach (var c in deviceId.AsSpan(at + ResourcePlanner.ReplicaSeparator.Length))
        {
            if (!char.IsAsciiDigit(c))
            {
                return deviceId;
            }
        }

        return deviceId[..at];
    }
}
