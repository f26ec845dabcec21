using GpuDaemon.DevicePlugin;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>
/// Holds back the hosted services added after it (node labels, pod attribution, metrics) until the device plugin
/// has registered every resource it advertises, or <see cref="MaxWait"/> has passed. At start-up those services
/// would otherwise compete with registration for the CPU (their JIT, a second Kestrel), and registration is what
/// the kubelet waits on. With nothing to advertise (a closed validation gate) there is nothing to wait for.
/// </summary>
internal sealed partial class RegistrationFirst(IDevicePluginStatus plugin, TimeProvider timeProvider, ILogger<RegistrationFirst> logger) : IHostedService
{
    /// <summary>
    /// The longest the later subsystems wait: a kubelet that is absent or slow delays /metrics and /healthz by this
    /// much, and no more (the plugin keeps retrying registration on its own).
    /// </summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(2);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(MaxWait, timeProvider);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        while (true)
        {
            var seen = plugin.Changed.Version;
            if (plugin.Started && plugin.Resources.All(r => r.Registered))
            {
                return;
            }

            try
            {
                await plugin.Changed.WaitForChangeAsync(seen, wait.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Log.NotRegisteredYet(logger, MaxWait.TotalSeconds);
                return;
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 15201, Level = LogLevel.Information, Message = "Not registered with the kubelet within {Seconds}s; starting metrics, node labels and pod attribution anyway (registration keeps retrying)")]
        public static partial void NotRegisteredYet(ILogger logger, double seconds);
    }
}
