using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices;
using GpuDaemon.Metrics;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The metrics endpoint's settings: their flags, and how they become <see cref="MetricsOptions"/>.</summary>
internal static class MetricsFlags
{
    public const string MetricsListen = "metrics-listen";
    public const string HostnameLabel = "hostname-label";

    public static List<Option> Options() =>
    [
        new Option<string>("--" + MetricsListen) { Description = $"Address and port of /metrics, /healthz and /readyz (HTTP); \"\" turns them off [default: {MetricsOptions.DefaultListen}]", HelpName = "ADDRESS:PORT" },
        new Option<string>("--" + HostnameLabel) { Description = $"Name of the node label on GPU series: {string.Join(" or ", MetricsOptions.HostnameLabels)} [default: {MetricsOptions.DefaultHostnameLabel}]", HelpName = "NAME" },
    ];

    public static MetricsOptions Bind(DaemonSettings settings)
    {
        var listen = settings.GetString(MetricsListen, MetricsOptions.DefaultListen).Trim();
        if (listen.Length > 0 && MetricsOptions.ParseListen(listen, out var problem) is null)
        {
            throw new UsageException($"{settings.Find(MetricsListen)!.Origin}: {problem}");
        }

        var hostnameLabel = settings.GetString(HostnameLabel, MetricsOptions.DefaultHostnameLabel);
        if (!MetricsOptions.HostnameLabels.Contains(hostnameLabel, StringComparer.Ordinal))
        {
            throw new UsageException($"{settings.Find(HostnameLabel)!.Origin}: '{Excerpt.Of(hostnameLabel)}' is not one of {string.Join(", ", MetricsOptions.HostnameLabels)} (the spelling is exact: dcgm-exporter's releases use Hostname, its main branch hostname)");
        }

        return new MetricsOptions { Listen = listen, HostnameLabel = hostnameLabel };
    }
}
