using System.Reflection;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>GpuDaemon's own series: build, registration with the kubelet, Allocate calls.</summary>
internal sealed class DaemonCollector(IGpuBackend backend, IDevicePluginStatus? plugin, PluginActivity? activity) : IMetricsCollector
{
    public static readonly string Version =
        typeof(DaemonCollector).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    public string Name => "gpudaemon";

    /// <summary>In-memory counters and verdicts only: never blocks.</summary>
    public bool RunsInline => true;

    public void Collect(MetricsBuilder metrics)
    {
        metrics.Gauge("gpudaemon_build_info", "GpuDaemon's version and the device backend in use (always 1).", 1,
            new Label("version", Version), new Label("backend", backend.Name), new Label("dotnet", Environment.Version.ToString()));

        if (plugin is not null)
        {
            foreach (var resource in plugin.Resources)
            {
                metrics.Gauge("gpudaemon_kubelet_registered", "1 when the resource is registered with the kubelet, else 0.", resource.Registered ? 1 : 0,
                    new Label("resource", resource.Resource));
            }
        }

        if (activity is null)
        {
            return;
        }

        metrics.Counter("gpudaemon_kubelet_registrations_total", "Successful registrations with the kubelet since GpuDaemon started, over all resources (one per resource at start, one more after each kubelet restart).",
            activity.Registrations);
        foreach (var allocation in activity.Allocations())
        {
            metrics.Counter("gpudaemon_allocations_total", "Allocate calls from the kubelet since GpuDaemon started, by resource and result.", allocation.Count,
                new Label("resource", allocation.Resource), new Label("result", ResultLabel(allocation.Result)));
        }

        if (activity.FirstRegistration is { } first)
        {
            metrics.Gauge("gpudaemon_first_registration_seconds", "Seconds from the process's start to its first registration accepted by the kubelet.",
                Math.Max(0, first.SinceProcessStart.TotalSeconds));
            metrics.Gauge("gpudaemon_first_registration_jit_seconds", "Time the runtime had spent compiling methods just in time when the first registration was accepted, seconds.",
                first.JitTime.TotalSeconds);
            metrics.Gauge("gpudaemon_first_registration_jitted_methods", "Methods the runtime had compiled just in time when the first registration was accepted.",
                first.JittedMethods);
        }

        var durations = activity.AllocateDurations();
        metrics.Histogram("gpudaemon_allocate_duration_seconds", "Time GpuDaemon took to answer the kubelet's Allocate calls, seconds.",
            durations.UpperBounds, durations.CumulativeCounts, durations.SumSeconds);
    }

    public static string ResultLabel(AllocateResult result) => result switch
    {
        AllocateResult.Ok => "ok",
        AllocateResult.InvalidArgument => "invalid_argument",
        AllocateResult.FailedPrecondition => "failed_precondition",
        _ => "failed",
    };
}
