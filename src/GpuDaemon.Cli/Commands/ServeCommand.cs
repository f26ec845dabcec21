using System.CommandLine;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// <c>gpudaemon serve</c>: one host whose subsystems (backend, health, device plugin, config reload) are
/// hosted services. Serves until SIGTERM/Ctrl-C; the settings are reloaded when the config file changes or on SIGHUP.
/// </summary>
internal static partial class ServeCommand
{
    private const string DefaultLogLevel = "information";

    public static Command Create(IEnvironment environment)
    {
        var command = new Command("serve", "Run the kubelet device plugin: advertise GPUs, keep their health current, answer Allocate");
        var settingsSpec = new CommandSettings(command, [.. CommonOptions.DeviceAndLogging(DefaultLogLevel), .. HealthFlags.Options(), .. DevicePluginFlags.Options(), .. PodResourcesFlags.Options(), .. ValidationGateFlags.Options(), .. MetricsFlags.Options(), .. NodeLabelsFlags.Options()]);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var raw = settingsSpec.Load(parse, environment);
            var settings = ServeSettings.Bind(raw);
            var builder = GpuDaemonHost.CreateBuilder(raw, DefaultLogLevel);
            builder.Services
                .AddServe(settings, configText => ServeSettings.Bind(settingsSpec.Load(parse, environment, configText)))
                .AddConfigReload(new ConfigReloadOptions(settingsSpec.ConfigPath(parse, environment)));
            var host = builder.Build();
            await using var disposeHost = (IAsyncDisposable)host; // backends are IAsyncDisposable only
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GpuDaemon.Serve");

            await host.StartAsync(cancellationToken);
            var backend = host.Services.GetRequiredService<IGpuBackend>();
            Log.Serving(logger, backend.Name, backend.Inventory.Gpus.Count, settings.DevicePlugin.ResourceName, settings.DevicePlugin.DevicePluginDir);
            await host.WaitForShutdownAsync(cancellationToken);
            Log.Stopped(logger);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Serving {GpuCount} GPUs from the {Backend} backend as {Resource} in {Directory}")]
        public static partial void Serving(ILogger logger, string backend, int gpuCount, string resource, string directory);

        [LoggerMessage(EventId = 8004, Level = LogLevel.Information, Message = "Stopped: sockets removed, ListAndWatch streams ended")]
        public static partial void Stopped(ILogger logger);
    }
}
