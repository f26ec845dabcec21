using GpuDaemon.DevicePlugin;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.PodResources;

public static class PodAttributionServiceCollectionExtensions
{
    /// <summary>
    /// Adds pod attribution (<see cref="IPodAttribution"/>) as a hosted service. Needs <see cref="IAdvertisedDevices"/> and <see cref="PluginActivity"/>
    /// (added by AddDevicePlugin), an <c>IOptionsMonitor&lt;PodAttributionOptions&gt;</c> and a <see cref="TimeProvider"/>;
    /// add it after the device plugin.
    /// </summary>
    public static IServiceCollection AddPodAttribution(this IServiceCollection services)
    {
        services.AddSingleton<PodAttributionService>();
        services.AddSingleton<IPodAttribution>(sp => sp.GetRequiredService<PodAttributionService>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PodAttributionService>());
        return services;
    }
}
