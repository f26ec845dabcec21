using GpuDaemon.Metrics.Exposition;
using GpuDaemon.PodResources;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// <c>gpudaemon_pod_resources_up</c>: whether pod attribution's last List answered. Its own inline collector, so
/// it stays in every scrape when the GPU collector overruns; absent when attribution is off or not registered,
/// so an alert on it never fires where attribution was turned off on purpose.
/// </summary>
internal sealed class PodResourcesCollector(IPodAttribution? attribution) : IMetricsCollector
{
    public const string UpName = "gpudaemon_pod_resources_up";

    public string Name => "pod_resources";

    /// <summary>Reads two fields the attribution loop keeps: never blocks.</summary>
    public bool RunsInline => true;

    public void Collect(MetricsBuilder metrics)
    {
        if (attribution is { Enabled: true })
        {
            metrics.Gauge(UpName, "1 when the kubelet's pod-resources API answered the last List, else 0 (GPU series then carry no pod labels).", attribution.Up ? 1 : 0);
        }
    }
}
