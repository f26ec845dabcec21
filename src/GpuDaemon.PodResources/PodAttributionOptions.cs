using GpuDaemon.Devices;

namespace GpuDaemon.PodResources;

/// <summary>Where pod attribution asks the kubelet, and how often. Immutable; a reload makes a new one.</summary>
public sealed record PodAttributionOptions
{
    /// <summary>Below this a steady refresh costs the kubelet more than a pod label is worth; Allocate triggers refreshes anyway.</summary>
    public static readonly TimeSpan MinRefreshPeriod = TimeSpan.FromSeconds(1);

    /// <summary>Pod labels older than this would be misleading on a busy node.</summary>
    public static readonly TimeSpan MaxRefreshPeriod = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan DefaultRefreshPeriod = TimeSpan.FromSeconds(10);

    /// <summary>Where the kubelet serves its pod-resources API.</summary>
    public const string DefaultSocketPath = "/var/lib/kubelet/pod-resources/kubelet.sock";

    /// <summary>The kubelet's pod-resources socket; empty turns pod attribution off.</summary>
    public string SocketPath { get; init; } = DefaultSocketPath;

    /// <summary>How often the map is refreshed when nothing asks for it sooner.</summary>
    public TimeSpan RefreshPeriod { get; init; } = DefaultRefreshPeriod;

    public bool Enabled => SocketPath.Length > 0;

    /// <summary>The problem with these options as one user-facing line, or null if they can work.</summary>
    public string? Problem() =>
        RefreshPeriod < MinRefreshPeriod || RefreshPeriod > MaxRefreshPeriod
            ? $"pod-resources-refresh {Durations.Format(RefreshPeriod)} is out of range: {Durations.Format(MinRefreshPeriod)} to {Durations.Format(MaxRefreshPeriod)}"
            : null;
}
