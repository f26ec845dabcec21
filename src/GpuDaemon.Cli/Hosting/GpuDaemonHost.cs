using GpuDaemon.Cli.Settings;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The generic host every command runs in: logging and the clock; subsystems are added by their own AddXxx.</summary>
internal static class GpuDaemonHost
{
    public static HostApplicationBuilder CreateBuilder(DaemonSettings settings, string defaultLogLevel, TimeProvider? timeProvider = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        LoggingSetup.Configure(builder.Logging, settings, defaultLogLevel);
        builder.Services.AddSingleton(timeProvider ?? TimeProvider.System);

        // SIGTERM and Ctrl-C reach the command's cancellation token (Program.cs); the host adds no handlers of its own.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        return builder;
    }

    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
