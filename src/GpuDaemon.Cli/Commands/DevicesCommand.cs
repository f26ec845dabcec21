using System.CommandLine;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Output;
using GpuDaemon.Devices;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDaemon.Cli.Commands;

/// <summary><c>gpudaemon devices</c>: what GPUs this node has, as a table or JSON.</summary>
internal static class DevicesCommand
{
    public const string OutputSetting = "output";
    private const string DefaultLogLevel = "warning";

    public static Command Create(TextWriter output, IEnvironment environment)
    {
        var command = new Command("devices", "List this node's GPUs with topology, health and a telemetry reading");
        var outputOption = new Option<string>("--" + OutputSetting, "-o")
        {
            Description = "Output format: table or json [default: table]",
            HelpName = "table|json",
        };
        var settingsSpec = new CommandSettings(command, [.. CommonOptions.DeviceAndLogging(DefaultLogLevel), outputOption]);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = settingsSpec.Load(parse, environment);
            var format = settings.GetChoice(OutputSetting, "table", "table", "json");
            var builder = GpuDaemonHost.CreateBuilder(settings, DefaultLogLevel);
            builder.Services.AddGpuBackend(GpuBackendOptions.Bind(settings, BackendKind.Nvml));
            var host = builder.Build();
            await using var disposeHost = (IAsyncDisposable)host; // backends are IAsyncDisposable only
            await host.StartAsync(cancellationToken);
            var backend = host.Services.GetRequiredService<IGpuBackend>();
            var report = DeviceReport.Collect(backend);
            if (format == "json")
            {
                DeviceJsonWriter.Write(output, report);
            }
            else
            {
                DeviceTableWriter.Write(output, report);
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
