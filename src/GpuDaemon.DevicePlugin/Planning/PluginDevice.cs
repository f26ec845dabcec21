using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin.Planning;

/// <summary>
/// One device as the kubelet sees it: a whole GPU, a MIG instance, or one time-slicing replica of either.
/// </summary>
internal sealed record PluginDevice
{
    /// <summary>The ID advertised in ListAndWatch and sent back in Allocate.</summary>
    public required string Id { get; init; }

    /// <summary>The physical GPU behind it; its health is this device's health.</summary>
    public required GpuDevice Gpu { get; init; }

    public MigInstance? Mig { get; init; }

    /// <summary>0..replicas-1 when shared, else null.</summary>
    public int? Replica { get; init; }

    /// <summary>What the container runtime is told: a UUID or an index, for the GPU or MIG instance.</summary>
    public required string RuntimeId { get; init; }

    public int? NumaNode => Gpu.NumaNode;
}

/// <summary>One extended resource and the devices advertised for it.</summary>
internal sealed record ResourcePlan(string ResourceName, IReadOnlyList<PluginDevice> Devices)
{
    public bool SameDevicesAs(ResourcePlan other) =>
        ResourceName == other.ResourceName && Devices.Select(d => (d.Id, d.RuntimeId, d.NumaNode))
            .SequenceEqual(other.Devices.Select(d => (d.Id, d.RuntimeId, d.NumaNode)));
}
