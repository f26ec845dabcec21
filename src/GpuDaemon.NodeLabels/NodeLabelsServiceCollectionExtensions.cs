using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.NodeLabels;

public static class NodeLabelsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the node-label writer as a hosted service. Needs a started <see cref="GpuDaemon.Devices.IGpuBackend"/>, the
    /// <see cref="GpuDaemon.Validation.Gate.ValidationGate"/>, an <c>IOptionsMonitor&lt;PluginOptions&gt;</c> and an
    /// <c>IOptionsMonitor&lt;NodeLabelsOptions&gt;</c>; add it after the device plugin.
    /// </summary>
    public static IServiceCollection AddNodeLabels(this IServiceCollection services)
    {
        services.AddSingleton<NodeLabelWriter>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<NodeLabelWriter>());
        return services;
    }
}
