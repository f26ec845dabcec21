using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.DevicePlugin;

public static class DevicePluginServiceCollectionExtensions
{
    /// <summary>
    /// Adds the kubelet device plugin as a hosted service. Needs a started <see cref="GpuDaemon.Devices.IGpuBackend"/>,
    /// the shared <see cref="GpuDaemon.Health.IGpuHealth"/> and an <c>IOptionsMonitor&lt;PluginOptions&gt;</c>; add it
    /// after them, so that it stops first.
    /// </summary>
    public static IServiceCollection AddDevicePlugin(this IServiceCollection services)
    {
        services.AddSingleton<DevicePluginManager>();
        services.AddSingleton<PluginActivity>();
        services.AddSingleton<IDevicePluginStatus>(sp => sp.GetRequiredService<DevicePluginManager>());
        services.AddSingleton<GpuDaemon.Devices.ILoopStatus>(sp => sp.GetRequiredService<DevicePluginManager>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DevicePluginManager>());
        services.AddSingleton<IAdvertisedDevices>(sp => sp.GetRequiredService<DevicePluginManager>());
        return services;
    }
}
