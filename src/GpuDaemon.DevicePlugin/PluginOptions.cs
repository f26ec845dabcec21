using GpuDaemon.DevicePlugin.Api;

namespace GpuDaemon.DevicePlugin;

public enum DeviceIdStrategy
{
    Uuid,
    Index,
}

public enum DeviceListStrategy
{
    /// <summary><c>NVIDIA_VISIBLE_DEVICES</c> lists the devices.</summary>
    Envvar,

    /// <summary>One mount per device under <c>/var/run/nvidia-container-devices</c>.</summary>
    VolumeMounts,

    /// <summary>CDI device names in the response's <c>cdi_devices</c>.</summary>
    CdiCri,
}

public enum MigStrategy
{
    /// <summary>Whole GPUs only, MIG mode or not.</summary>
    None,

    /// <summary>Every GPU in MIG mode with one profile; instances advertised under the plain resource.</summary>
#pragma warning disable CA1720 // "single" is the strategy's established name among operators.
    Single,
#pragma warning restore CA1720

    /// <summary>Whole GPUs under the plain resource, each MIG profile as its own resource.</summary>
    Mixed,
}

public enum ReplicaPolicy
{
    /// <summary>Prefer replicas on different physical GPUs.</summary>
    Spread,

    /// <summary>Prefer replicas on the same physical GPU.</summary>
    Pack,
}

/// <summary>How the device plugin advertises and hands out GPUs. Immutable; a reload makes a new one. Health is judged by the health subsystem's own options.</summary>
public sealed record PluginOptions
{
    public const int MaxReplicas = 64;

    public string DevicePluginDir { get; init; } = KubeletConstants.DefaultDevicePluginDir;

    public string ResourceName { get; init; } = Api.ResourceName.DefaultGpu;

    public DeviceIdStrategy DeviceIdStrategy { get; init; } = DeviceIdStrategy.Uuid;

    public DeviceListStrategy DeviceListStrategy { get; init; } = DeviceListStrategy.Envvar;

    /// <summary>The host's root as this process sees it; control devices are looked for under its <c>dev/</c>.</summary>
    public string DevRoot { get; init; } = GpuDaemon.Devices.HostRoots.Default;

    public bool PreStartRequired { get; init; }

    /// <summary>Time-slicing: each device advertised this many times as <c>&lt;id&gt;::&lt;k&gt;</c>; 1 means no sharing.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>With sharing, advertise <c>&lt;resource&gt;.shared</c> instead of the plain name.</summary>
    public bool RenameShared { get; init; }

    /// <summary>With sharing, refuse a container that asks for more than one replica.</summary>
    public bool FailRequestsGreaterThanOne { get; init; }

    public ReplicaPolicy ReplicaPolicy { get; init; } = ReplicaPolicy.Spread;

    public MigStrategy MigStrategy { get; init; } = MigStrategy.None;

    /// <summary>How often the plugin checks its socket and kubelet.sock, in case no file notification comes.</summary>
    public TimeSpan KubeletCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    public string KubeletSocketPath => Path.Combine(DevicePluginDir, KubeletConstants.KubeletSocketName);

    /// <summary>The problem with these options as one user-facing line, or null if they can work.</summary>
    public string? Problem()
    {
        if (Api.ResourceName.Validate(ResourceName) is { } problem)
        {
            return $"resource-name: {problem}; the kubelet would refuse it";
        }

        if (Replicas is < 1 or > MaxReplicas)
        {
            return $"replicas {Replicas} is out of range: 1 (no sharing) to {MaxReplicas}";
        }

        if (RenameShared && Replicas == 1)
        {
            return "rename-shared needs replicas > 1 (sharing is off)";
        }

        return null;
    }
}
