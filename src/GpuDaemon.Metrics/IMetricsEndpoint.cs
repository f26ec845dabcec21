namespace GpuDaemon.Metrics;

/// <summary>Where the metrics endpoint listens, once started.</summary>
public interface IMetricsEndpoint
{
    /// <summary>The base address served (the system's port for port 0); null when the endpoint is off or not started.</summary>
    Uri? Address { get; }
}
