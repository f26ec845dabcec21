using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// Adds the shared GPU health verdicts as a hosted service. Needs an <see cref="GpuDaemon.Devices.IGpuBackend"/>
    /// started before it and an <c>IOptionsMonitor&lt;HealthOptions&gt;</c>.
    /// </summary>
    public static IServiceCollection AddGpuHealth(this IServiceCollection services)
    {
        services.AddSingleton<GpuHealthMonitor>();
        services.AddSingleton<IGpuHealth>(sp => sp.GetRequiredService<GpuHealthMonitor>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<GpuHealthMonitor>());
        services.AddSingleton<GpuDaemon.Devices.ILoopStatus>(sp => sp.GetRequiredService<GpuHealthMonitor>());
        return services;
    }
}
