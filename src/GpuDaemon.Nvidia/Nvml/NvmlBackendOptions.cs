using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>How <see cref="NvmlBackend"/> finds the driver and watches the GPUs.</summary>
public sealed record NvmlBackendOptions
{
    public const string DefaultSysfsRoot = "/sys";

    /// <summary>How long one wait for health events blocks, and so the most a dispose waits.</summary>
    public static readonly TimeSpan DefaultEventWaitTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Where the NVIDIA driver is installed: <c>/</c> for the host's own, or e.g. <c>/run/nvidia/driver</c>.</summary>
    public required string DriverRoot { get; init; }

    /// <summary>Where sysfs is mounted; NUMA nodes are read from <c>bus/pci/devices/BDF/numa_node</c> under it.</summary>
    public string SysfsRoot { get; init; } = DefaultSysfsRoot;

    public TimeSpan EventWaitTimeout { get; init; } = DefaultEventWaitTimeout;

    public IHostFileSystem FileSystem { get; init; } = PhysicalHostFileSystem.Instance;
}
