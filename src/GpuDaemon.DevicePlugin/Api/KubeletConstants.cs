using GpuDaemon.Health;

namespace GpuDaemon.DevicePlugin.Api;

/// <summary>Fixed facts of the kubelet's device-plugin contract.</summary>
public static class KubeletConstants
{
    public const string Version = "v1beta1";

    public const string DefaultDevicePluginDir = "/var/lib/kubelet/device-plugins";

    public const string KubeletSocketName = "kubelet.sock";

    /// <summary>The kubelet's own state; a plugin must never touch it.</summary>
    public const string CheckpointFileName = "kubelet_internal_checkpoint";

    public const string Healthy = "Healthy";

    public const string Unhealthy = "Unhealthy";

    /// <summary>A health verdict in the kubelet's words.</summary>
    public static string HealthOf(GpuHealthVerdict verdict) => verdict.Healthy ? Healthy : Unhealthy;
}
