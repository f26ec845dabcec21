using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The generic host every command runs in: settings, logging, clock and the device backend.</summary>
public static class DaemonHost
{
    public static HostApplicationBuilder CreateBuilder(DaemonSettings settings, DeviceSourceSettings devices, string defaultLogLevel, TimeProvider? timeProvider = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        LoggingSetup.Configure(builder.Logging, settings, defaultLogLevel);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(devices);
        builder.Services.AddSingleton(timeProvider ?? TimeProvider.System);
        builder.Services.AddSingleton<IGpuBackend>(sp => BackendFactory.Create(
            devices,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        return builder;
    }
}
