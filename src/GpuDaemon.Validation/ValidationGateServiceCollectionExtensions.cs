using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Validation;

public static class ValidationGateServiceCollectionExtensions
{
    /// <summary>
    /// Adds the <see cref="ValidationGate"/> as a hosted service. Needs an <see cref="GpuDaemon.Devices.IGpuBackend"/>
    /// started before it and an <c>IOptionsMonitor&lt;ValidationGateOptions&gt;</c>; add it before the device plugin,
    /// so that the plugin's first plan already sees the gate's state.
    /// </summary>
    public static IServiceCollection AddValidationGate(this IServiceCollection services)
    {
        services.AddSingleton<ValidationGate>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ValidationGate>());
        return services;
    }
}
