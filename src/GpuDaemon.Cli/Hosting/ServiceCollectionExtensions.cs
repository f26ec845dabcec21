using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Health;
using GpuDaemon.PodResources;
using GpuDaemon.Validation;
using GpuDaemon.Validation.Gate;
using GpuDaemon.Metrics;
using GpuDaemon.NodeLabels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The composition root's additions: the chosen backend, the settings snapshot, and the whole of serve.</summary>
internal static class ServiceCollectionExtensions
{
    /// <summary>Adds the device backend the options choose, started as the first hosted service.</summary>
    public static IServiceCollection AddGpuBackend(this IServiceCollection services, GpuBackendOptions options)
    {
        services.AddSingleton(sp => BackendFactory.Create(options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IHostedService, BackendStarter>();
        return services;
    }

    /// <summary>
    /// Adds every subsystem of serve, in start order (backend, health, validation gate, device plugin, node labels, pod attribution, metrics), fed by one settings
    /// snapshot. With <paramref name="reload"/>, <see cref="SettingsMonitor.Reload"/> builds and hands out new ones.
    /// </summary>
    public static IServiceCollection AddServe(this IServiceCollection services, ServeSettings initial, Func<string?, ServeSettings>? reload = null)
    {
        services.AddSingleton(sp => new SettingsMonitor(initial, reload, sp.GetRequiredService<ILogger<SettingsMonitor>>()));
        services.AddSingleton<IOptionsMonitor<HealthOptions>>(sp => new SettingsOptionsMonitor<HealthOptions>(sp.GetRequiredService<SettingsMonitor>(), s => s.Health));
        services.AddSingleton<IOptionsMonitor<PluginOptions>>(sp => new SettingsOptionsMonitor<PluginOptions>(sp.GetRequiredService<SettingsMonitor>(), s => s.DevicePlugin));
        services.AddGpuBackend(initial.Backend);
        services.AddGpuHealth();
        services.AddValidationGate(s => s.ValidationGate);
        services.AddDevicePlugin();
        services.AddSingleton<IOptionsMonitor<NodeLabelsOptions>>(sp => new SettingsOptionsMonitor<NodeLabelsOptions>(sp.GetRequiredService<SettingsMonitor>(), s => s.NodeLabels));
        services.AddNodeLabels();
        services.AddSingleton<IOptionsMonitor<PodAttributionOptions>>(sp => new SettingsOptionsMonitor<PodAttributionOptions>(sp.GetRequiredService<SettingsMonitor>(), s => s.PodResources));
        services.AddPodAttribution();
        services.AddSingleton<IOptionsMonitor<MetricsOptions>>(sp => new SettingsOptionsMonitor<MetricsOptions>(sp.GetRequiredService<SettingsMonitor>(), s => s.Metrics));
        services.AddGpuMetrics();
        services.AddSingleton(sp => new ValidationReporting(sp.GetRequiredService<ValidationGate>(), sp.GetRequiredService<IOptionsMonitor<ValidationGateOptions>>()));
        services.AddSingleton<IMetricsCollector>(sp => sp.GetRequiredService<ValidationReporting>());
        services.AddSingleton<IReadinessCheck>(sp => sp.GetRequiredService<ValidationReporting>());
        return services;
    }

    /// <summary>
    /// The validation gate (serve --require-validation) as a hosted service, and the device plugin's advertising gate
    /// answered by it. Added before the device plugin, so that the plugin's first plan sees the gate's state.
    /// </summary>
    public static IServiceCollection AddValidationGate(this IServiceCollection services, Func<ServeSettings, ValidationGateOptions> select)
    {
        services.AddSingleton<IOptionsMonitor<ValidationGateOptions>>(sp => new SettingsOptionsMonitor<ValidationGateOptions>(sp.GetRequiredService<SettingsMonitor>(), select));
        ValidationGateServiceCollectionExtensions.AddValidationGate(services);
        services.AddSingleton<IAdvertisingGate>(sp => new ValidationAdvertisingGate(sp.GetRequiredService<ValidationGate>()));
        return services;
    }

    /// <summary>Reloads the settings on SIGHUP and when the config file changes. Added last, so it stops first.</summary>
    public static IServiceCollection AddConfigReload(this IServiceCollection services, ConfigReloadOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<ConfigReloadService>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ConfigReloadService>());
        return services;
    }

    private sealed class BackendStarter(IGpuBackend backend) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => backend.StartAsync(cancellationToken);

        // The container disposes the backend after every subsystem that reads it has stopped.
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
