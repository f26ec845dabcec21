using System.Net;

namespace GpuDaemon.Metrics;

/// <summary>The metrics endpoint's settings. The listen address is read at start; the rest at every scrape.</summary>
public sealed record MetricsOptions
{
    /// <summary>dcgm-exporter's port, so existing scrape configs find the same series where they looked.</summary>
    public const int DefaultPort = 9400;

    public const string DefaultListen = "0.0.0.0:9400";

    /// <summary>The label name dcgm-exporter's releases use for the node; its main branch uses <c>hostname</c>.</summary>
    public const string DefaultHostnameLabel = "Hostname";

    public static readonly IReadOnlyList<string> HostnameLabels = [DefaultHostnameLabel, "hostname"];

    /// <summary>How long one collector may take in one scrape; a GPU library call answers in microseconds.</summary>
    public static readonly TimeSpan DefaultCollectorBudget = TimeSpan.FromSeconds(2);

    /// <summary><c>address:port</c> to serve on; empty turns the endpoint off.</summary>
    public string Listen { get; init; } = DefaultListen;

    public string HostnameLabel { get; init; } = DefaultHostnameLabel;

    /// <summary>The host label's value; null takes <c>NODE_NAME</c>, else the host name.</summary>
    public string? NodeName { get; init; }

    public TimeSpan CollectorBudget { get; init; } = DefaultCollectorBudget;

    /// <summary>The endpoint's bounds; tests shrink them.</summary>
    public MetricsLimits Limits { get; init; } = new();

    public bool Enabled => !string.IsNullOrEmpty(Listen);

    /// <summary>Parses <c>address:port</c> (IPv4, or IPv6 in brackets); null with the reason when it is not one.</summary>
    public static IPEndPoint? ParseListen(string listen, out string? problem)
    {
        problem = null;
        if (IPEndPoint.TryParse(listen, out var endpoint) && listen.Contains(':', StringComparison.Ordinal) && !listen.EndsWith(']'))
        {
            return endpoint;
        }

        problem = $"\"{GpuDaemon.Devices.Excerpt.Of(listen)}\" is not an address and port; give an IP address and a port, e.g. {MetricsOptions.DefaultListen}, 127.0.0.1:9400 or [::]:9400, or \"\" to turn the metrics endpoint off";
        return null;
    }
}
