namespace GpuDaemon.DevicePlugin.Health;

/// <summary>A GPU's health as the kubelet is told it, with the reason for the last change.</summary>
public sealed record DeviceHealth(bool Healthy, string Reason, DateTimeOffset Since)
{
    public string KubeletValue => Healthy ? Api.KubeletConstants.Healthy : Api.KubeletConstants.Unhealthy;
}
