using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Health;
using GpuDaemon.PodResources;
using GpuDaemon.Validation.Gate;
using GpuDaemon.Metrics;
using GpuDaemon.NodeLabels;

namespace GpuDaemon.Cli.Hosting;

/// <summary>
/// One validated snapshot of every subsystem's options. A reload builds a whole new one or nothing: a
/// value that one subsystem rejects keeps every subsystem on the last good snapshot.
/// </summary>
internal sealed record ServeSettings(GpuBackendOptions Backend, HealthOptions Health, PluginOptions DevicePlugin, PodAttributionOptions PodResources, MetricsOptions Metrics)
{
    /// <summary>Whether GPUs wait for gpudaemon validate's status files (--require-validation).</summary>
    public ValidationGateOptions ValidationGate { get; init; } = new();

    /// <summary>Where the node-label file for Node Feature Discovery goes (--node-labels-dir; empty: off).</summary>
    public NodeLabelsOptions NodeLabels { get; init; } = new();

    /// <summary>Binds and validates every subsystem's options; a bad value is a <see cref="UsageException"/> naming its origin.</summary>
    public static ServeSettings Bind(DaemonSettings settings) => new(
        GpuBackendOptions.Bind(settings, BackendKind.Nvml),
        HealthFlags.Bind(settings),
        DevicePluginFlags.Bind(settings),
        PodResourcesFlags.Bind(settings),
        MetricsFlags.Bind(settings))
    {
        ValidationGate = ValidationGateFlags.Bind(settings),
        NodeLabels = NodeLabelsFlags.Bind(settings),
    };
}
