using System.CommandLine;
using System.Runtime.InteropServices;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// <c>gpudaemon serve</c>: the kubelet device plugin. Serves until SIGTERM/Ctrl-C; the config file is
/// re-read when it changes or on SIGHUP.
/// </summary>
public static partial class ServeCommand
{
    private const string DefaultLogLevel = "information";

    public static Command Create(IEnvironment environment)
    {
        var command = new Command("serve", "Run the kubelet device plugin: advertise GPUs, keep their health current, answer Allocate");
        var settingsSpec = new CommandSettings(command, [.. CommonOptions.DeviceAndLogging(DefaultLogLevel), .. PluginSettings.Options()]);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = settingsSpec.Load(parse, environment);
            var devices = DeviceSourceSettings.From(settings, BackendKind.Nvml);
            var config = PluginSettings.From(settings);
            using var host = DaemonHost.CreateBuilder(settings, devices, DefaultLogLevel).Build();
            var loggerFactory = host.Services.GetRequiredService<ILoggerFactory>();
            var logger = loggerFactory.CreateLogger("GpuDaemon.Serve");
            var timeProvider = host.Services.GetRequiredService<TimeProvider>();
            await using var backend = host.Services.GetRequiredService<IGpuBackend>();
            await backend.StartAsync(cancellationToken);
            await using var manager = new DevicePluginManager(backend, config, timeProvider, loggerFactory);

            void Reload(string why)
            {
                try
                {
                    manager.UpdateConfig(PluginSettings.From(settingsSpec.Load(parse, environment)));
                    Log.ConfigReloaded(logger, why);
                }
                catch (Exception ex) when (ex is UsageException or ArgumentException)
                {
                    Log.ConfigRejected(logger, ex.Message);
                }
            }

            using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Reload("SIGHUP");
            });
            using var configMonitor = settingsSpec.ConfigPath(parse, environment) is { } configPath
                ? new FileChangeMonitor(configPath, File.ReadAllText(configPath), _ => Reload(configPath + " changed"), timeProvider, TimeSpan.FromSeconds(2), logger)
                : null;

            Log.Serving(logger, backend.Name, backend.Inventory.Gpus.Count, config.ResourceName, config.DevicePluginDir);
            await manager.RunAsync(cancellationToken);
            Log.Stopped(logger);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Serving {GpuCount} GPUs from the {Backend} backend as {Resource} in {Directory}")]
        public static partial void Serving(ILogger logger, string backend, int gpuCount, string resource, string directory);

        [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Config reloaded ({Why})")]
        public static partial void ConfigReloaded(ILogger logger, string why);

        [LoggerMessage(EventId = 8003, Level = LogLevel.Error, Message = "Config change ignored, the previous config stays in force: {Problem}")]
        public static partial void ConfigRejected(ILogger logger, string problem);

        [LoggerMessage(EventId = 8004, Level = LogLevel.Information, Message = "Stopped: sockets removed, ListAndWatch streams ended")]
        public static partial void Stopped(ILogger logger);
    }
}
