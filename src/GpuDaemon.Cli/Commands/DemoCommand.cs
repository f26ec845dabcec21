using System.CommandLine;
using GpuDaemon.Cli.Demo;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Health;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// <c>gpudaemon demo</c>: the whole flow on simulated GPUs with a built-in kubelet emulator, narrated,
/// then left running for the user to poke at until Ctrl-C.
/// </summary>
internal static class DemoCommand
{
    private const string DefaultLogLevel = "warning";

    public static Command Create(TextWriter output, IEnvironment environment)
    {
        var command = new Command("demo", "Try GpuDaemon with no GPU and no cluster: simulated GPUs, the device plugin and an emulated kubelet");
        var gpus = new Option<int>("--gpus") { Description = "How many GPUs to simulate [default: 8]", HelpName = "N" };
        var recovery = new Option<string>("--" + HealthFlags.RecoveryPeriod) { Description = "Clean-probe period before a faulted GPU is Healthy again [default: 3s]", HelpName = "DURATION" };
        var exit = new Option<bool>("--exit") { Description = "Exit after the narrated flow instead of staying up until Ctrl-C" };
        command.Add(exit);
        var settingsSpec = new CommandSettings(command, [gpus, recovery, CommonOptions.LogFormat(), CommonOptions.LogLevel(DefaultLogLevel)]);

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = settingsSpec.Load(parse, environment);
            var options = new DemoOptions(
                settings.GetInt("gpus", 2, 64) ?? 8,
                settings.GetDuration(HealthFlags.RecoveryPeriod, TimeSpan.FromSeconds(3), TimeSpan.Zero, HealthOptions.MaxRecoveryPeriod),
                StayUp: !parse.GetValue(exit));
            IHost BuildHost(ServeSettings serve)
            {
                var builder = GpuDaemonHost.CreateBuilder(settings, DefaultLogLevel);
                builder.Services.AddServe(serve);
                return builder.Build();
            }

            await new DemoScript(output, BuildHost, options).RunAsync(cancellationToken);
            return ExitCodes.Ok;
        });
        return command;
    }
}
