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

/// <summary>How the device plugin advertises, checks and hands out GPUs. Immutable; a reload makes a new one.</summary>
public sealed record PluginConfig
{
    public static readonly IReadOnlyList<int> DefaultIgnoredXids = [13, 31, 43, 45, 68, 109];

    public string DevicePluginDir { get; init; } = KubeletConstants.DefaultDevicePluginDir;

    public string ResourceName { get; init; } = Api.ResourceName.DefaultGpu;

    public DeviceIdStrategy DeviceIdStrategy { get; init; } = DeviceIdStrategy.Uuid;

    public DeviceListStrategy DeviceListStrategy { get; init; } = DeviceListStrategy.Envvar;

    /// <summary>The host's root as this process sees it; control devices are looked for under its <c>dev/</c>.</summary>
    public string DevRoot { get; init; } = "/";

    public bool HealthChecks { get; init; } = true;

    public IReadOnlyList<int> IgnoredXids { get; init; } = DefaultIgnoredXids;

    /// <summary>How long a faulted GPU's probes must stay clean before it is Healthy again.</summary>
    public TimeSpan RecoveryPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often every GPU's health is probed.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(5);

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
    public TimeSpan KubeletCheckInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public string KubeletSocketPath => Path.Combine(DevicePluginDir, KubeletConstants.KubeletSocketName);

    /// <summary>Throws <see cref="ArgumentException"/> with a user-facing message if the combination cannot work.</summary>
    public void Validate()
    {
        if (Api.ResourceName.Validate(ResourceName) is { } problem)
        {
            throw new ArgumentException(problem + "; the kubelet would refuse it");
        }

        if (Replicas is < 1 or > 64)
        {
            throw new ArgumentException($"replicas {Replicas} is out of range: 1 (no sharing) to 64");
        }

        if (RenameShared && Replicas == 1)
        {
            throw new ArgumentException("rename-shared needs replicas > 1 (sharing is off)");
        }

        if (RecoveryPeriod < TimeSpan.Zero || ProbeInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("recovery-period must be >= 0 and probe-interval > 0");
        }
    }
}
