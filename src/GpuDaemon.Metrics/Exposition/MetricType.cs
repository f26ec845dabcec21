namespace GpuDaemon.Metrics.Exposition;

/// <summary>The metric types of the Prometheus text format that GpuDaemon writes.</summary>
public enum MetricType
{
    Gauge,
    Counter,
    Histogram,
}
