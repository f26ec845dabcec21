namespace GpuDaemon.Devices;

/// <summary>The answer of one health check on one GPU.</summary>
public sealed record HealthProbe(bool Healthy, string Reason)
{
    public static readonly HealthProbe Ok = new(true, "ok");

    public static HealthProbe Failed(string reason) => new(false, reason);
}
