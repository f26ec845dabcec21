namespace GpuDaemon.Devices;

/// <summary>One physical GPU as the backend enumerated it. Immutable.</summary>
public sealed record GpuDevice
{
    public required int Index { get; init; }

    /// <summary>Stable identity, e.g. <c>GPU-8f6c…</c>; what the device plugin advertises by default.</summary>
    public required string Uuid { get; init; }

    public required string Model { get; init; }

    public required long MemoryMiB { get; init; }

    /// <summary>Domain:bus:device.function, e.g. <c>00000000:18:00.0</c>.</summary>
    public required string PciBusId { get; init; }

    /// <summary>N in <c>/dev/nvidiaN</c>.</summary>
    public required int MinorNumber { get; init; }

    /// <summary>NUMA node of the PCI device, or null when the platform does not say.</summary>
    public int? NumaNode { get; init; }

    /// <summary>UUIDs of the GPUs this one has an active NVLink to.</summary>
    public IReadOnlyList<string> NvLinkPeers { get; init; } = [];

    public MigState Mig { get; init; } = MigState.NotCapable;

    public string DeviceNode => $"/dev/nvidia{MinorNumber}";

    /// <summary>CUDA compute capability (e.g. 9.0 for Hopper), or null when the backend cannot say.</summary>
    public ComputeCapability? ComputeCapability { get; init; }
}

/// <summary>A GPU's CUDA compute capability, <c>major.minor</c>.</summary>
public sealed record ComputeCapability(int Major, int Minor)
{
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Major}.{Minor}");
}

/// <summary>Multi-Instance GPU: whether the GPU can be partitioned, whether it is, and into what.</summary>
public sealed record MigState(bool Capable, bool Enabled, IReadOnlyList<MigInstance> Instances)
{
    public static readonly MigState NotCapable = new(false, false, []);
}

/// <summary>One MIG partition, e.g. profile <c>1g.10gb</c>.</summary>
public sealed record MigInstance(string Uuid, string Profile, long MemoryMiB, int GpuInstanceId, int ComputeInstanceId);
