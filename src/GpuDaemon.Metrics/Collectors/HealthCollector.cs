using GpuDaemon.Devices;
using GpuDaemon.Health;
using GpuDaemon.Metrics.Exposition;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>Each GPU's health as the agent decided it, with why, and the transitions counted so far.</summary>
internal sealed class HealthCollector(IGpuBackend backend, IGpuHealth health, HealthTransitions transitions, IOptionsMonitor<MetricsOptions> options) : IMetricsCollector
{
    public string Name => "health";

    public void Collect(MetricsBuilder metrics)
    {
        var inventory = backend.Inventory;
        var config = options.CurrentValue;
        var node = GpuLabels.NodeName(config);
        foreach (var gpu in inventory.Gpus)
        {
            var verdict = health.Verdict(gpu.Uuid);
            var labels = GpuLabels.For(gpu, inventory.Driver, config.HostnameLabel, node);
            metrics.Gauge("gpudaemon_gpu_healthy", "1 when GpuDaemon advertises the GPU as healthy to the kubelet, 0 when it keeps it out of the pool.", verdict.Healthy ? 1 : 0, labels);
            metrics.Gauge("gpudaemon_gpu_health_info", "Why the GPU has its health: the reason's category and text (always 1).", 1,
                labels[0], labels[1], new Label("category", HealthReasons.Category(verdict)), new Label("reason", HealthReasons.Text(verdict)));
        }

        foreach (var (category, count) in transitions.Counts())
        {
            metrics.Counter("gpudaemon_health_transitions_total", "Changes of a GPU between healthy and unhealthy since GpuDaemon started, by the category of the new verdict's reason.", count,
                new Label("reason", category));
        }
    }
}
