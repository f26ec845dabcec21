using GpuDaemon.Devices;
using GpuDaemon.Health;
using GpuDaemon.Metrics.Exposition;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>Each GPU's health as the agent decided it, with why, and the transitions counted so far.</summary>
internal sealed class HealthCollector(IGpuBackend backend, IGpuHealth health, HealthTransitions transitions, IOptionsMonitor<MetricsOptions> options) : IMetricsCollector
{
    /// <summary>Each GPU's label sets, kept while the inventory and the host label are the same (one reference: concurrent scrapes read it whole).</summary>
    private LabelCache? _labels;

    private sealed record LabelCache(GpuInventory Inventory, string HostnameLabel, string Node, LabelSet[] Healthy, LabelSet[] Short);

    public string Name => "health";

    /// <summary>In-memory counters and verdicts only: never blocks.</summary>
    public bool RunsInline => true;

    public void Collect(MetricsBuilder metrics)
    {
        var inventory = backend.Inventory;
        var config = options.CurrentValue;
        var node = GpuLabels.NodeName(config);
        var cached = Volatile.Read(ref _labels);
        if (cached is null || !ReferenceEquals(cached.Inventory, inventory) || cached.HostnameLabel != config.HostnameLabel || cached.Node != node)
        {
            var full = inventory.Gpus.Select(gpu => GpuLabels.For(gpu, inventory.Driver, config.HostnameLabel, node)).ToArray();
            cached = new LabelCache(inventory, config.HostnameLabel, node, [.. full.Select(l => new LabelSet(l))], [.. full.Select(l => new LabelSet(l[0], l[1]))]);
            Volatile.Write(ref _labels, cached);
        }

        var (healthy, identity) = (cached.Healthy, cached.Short);
        for (var i = 0; i < inventory.Gpus.Count; i++)
        {
            var verdict = health.Verdict(inventory.Gpus[i].Uuid);
            metrics.Gauge("gpudaemon_gpu_healthy", "1 when GpuDaemon advertises the GPU as healthy to the kubelet, 0 when it keeps it out of the pool.", verdict.Healthy ? 1 : 0, healthy[i]);
            metrics.Gauge("gpudaemon_gpu_health_info", "Why the GPU has its health: the reason's category and text (always 1).", 1,
                identity[i].With(new Label("category", HealthReasons.Category(verdict)), new Label("reason", HealthReasons.Text(verdict))));
        }

        foreach (var (category, count) in transitions.Counts())
        {
            metrics.Counter("gpudaemon_health_transitions_total", "Changes of a GPU between healthy and unhealthy since GpuDaemon started, by the category of the new verdict's reason.", count,
                new Label("reason", category));
        }
    }
}
