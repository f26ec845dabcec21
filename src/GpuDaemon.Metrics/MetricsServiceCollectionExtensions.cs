using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Health;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.PodResources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the metrics endpoint and its collectors as hosted services. Needs a started <see cref="IGpuBackend"/>,
    /// <see cref="IGpuHealth"/> and an <c>IOptionsMonitor&lt;MetricsOptions&gt;</c>; uses the device plugin's
    /// <see cref="IDevicePluginStatus"/> and <see cref="PluginActivity"/> and an <see cref="IPodAttribution"/> when
    /// registered. Add it after the device plugin. More series: register an <see cref="IMetricsCollector"/>; more
    /// conditions of readiness: an <see cref="IReadinessCheck"/>.
    /// </summary>
    public static IServiceCollection AddGpuMetrics(this IServiceCollection services)
    {
        services.AddSingleton<XidTracker>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<XidTracker>());
        services.AddSingleton<ILoopStatus>(sp => sp.GetRequiredService<XidTracker>());
        services.AddSingleton<HealthTransitions>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<HealthTransitions>());
        services.AddSingleton<ILoopStatus>(sp => sp.GetRequiredService<HealthTransitions>());

        services.AddSingleton<IMetricsCollector>(sp => new GpuCollector(
            sp.GetRequiredService<IGpuBackend>(), sp.GetRequiredService<XidTracker>(), sp.GetRequiredService<IOptionsMonitor<MetricsOptions>>(),
            sp.GetService<IPodAttribution>(), sp.GetRequiredService<ILogger<GpuCollector>>()));
        services.AddSingleton<IMetricsCollector>(sp => new HealthCollector(
            sp.GetRequiredService<IGpuBackend>(), sp.GetRequiredService<IGpuHealth>(), sp.GetRequiredService<HealthTransitions>(), sp.GetRequiredService<IOptionsMonitor<MetricsOptions>>()));
        services.AddSingleton<IMetricsCollector>(sp => new DaemonCollector(
            sp.GetRequiredService<IGpuBackend>(), sp.GetService<IDevicePluginStatus>(), sp.GetService<PluginActivity>()));
        services.AddSingleton<IMetricsCollector, ProcessCollector>();
        services.AddSingleton<IMetricsCollector, RuntimeCollector>();
        services.AddSingleton<IMetricsCollector>(sp => new PodResourcesCollector(sp.GetService<IPodAttribution>()));

        services.AddSingleton<IReadinessCheck>(sp => new DevicePluginReadiness(
            sp.GetService<IDevicePluginStatus>() ?? throw new InvalidOperationException("AddGpuMetrics needs the device plugin (AddDevicePlugin) for /readyz")));

        services.AddSingleton(sp => new MetricsScraper(sp.GetServices<IMetricsCollector>(), sp.GetRequiredService<IOptionsMonitor<MetricsOptions>>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<MetricsScraper>>()));
        services.AddSingleton(sp => new ProbeEndpoints(sp.GetServices<ILoopStatus>(), sp.GetServices<IReadinessCheck>()));
        services.AddSingleton<MetricsServer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<MetricsServer>());
        services.AddSingleton<IMetricsEndpoint>(sp => sp.GetRequiredService<MetricsServer>());
        return services;
    }
}
