using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices;
using GpuDaemon.PodResources;

namespace GpuDaemon.Cli.Hosting;

/// <summary>Pod attribution's settings: their flags, and how they become <see cref="PodAttributionOptions"/>.</summary>
internal static class PodResourcesFlags
{
    public const string PodResourcesSocket = "pod-resources-socket";
    public const string PodResourcesRefresh = "pod-resources-refresh";

    private static readonly PodAttributionOptions Defaults = new();

    public static List<Option> Options() =>
    [
        new Option<string>("--" + PodResourcesSocket) { Description = $"The kubelet's pod-resources socket, for pod labels on GPU series; empty turns them off [default: {Defaults.SocketPath}]", HelpName = "PATH" },
        new Option<string>("--" + PodResourcesRefresh) { Description = $"How often pod labels are refreshed (also soon after each Allocate), {Durations.Format(PodAttributionOptions.MinRefreshPeriod)} to {Durations.Format(PodAttributionOptions.MaxRefreshPeriod)} [default: {Durations.Format(Defaults.RefreshPeriod)}]", HelpName = "DURATION" },
    ];

    public static PodAttributionOptions Bind(DaemonSettings settings)
    {
        var socket = settings.GetString(PodResourcesSocket, Defaults.SocketPath).Trim();
        var options = new PodAttributionOptions
        {
            SocketPath = socket.Length == 0 ? string.Empty : Path.GetFullPath(socket),
            RefreshPeriod = settings.GetDuration(PodResourcesRefresh, Defaults.RefreshPeriod, PodAttributionOptions.MinRefreshPeriod, PodAttributionOptions.MaxRefreshPeriod),
        };

        if (options.Problem() is { } problem)
        {
            throw new UsageException(problem);
        }

        return options;
    }
}
