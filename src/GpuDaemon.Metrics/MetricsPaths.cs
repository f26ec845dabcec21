namespace GpuDaemon.Metrics;

/// <summary>The HTTP paths the metrics endpoint serves; the DaemonSet's probes and scrape config use them.</summary>
public static class MetricsPaths
{
    public const string Metrics = "/metrics";

    /// <summary>Liveness: 200 while the process and its loops run.</summary>
    public const string Health = "/healthz";

    /// <summary>Readiness: 200 once every advertised resource is registered and every readiness check passes.</summary>
    public const string Readiness = "/readyz";
}
