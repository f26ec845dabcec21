using System.Globalization;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Devices;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.PodResources;

/// <summary>The pod-attribution docs state the defaults and bounds the code has.</summary>
public sealed class PodAttributionDocsTests
{
    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";

    private static string MiB(int bytes) => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB";

    [Fact]
    public void MetricsDoc_FlagsAndBounds_MatchTheCode()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/metrics.md"));
        var defaults = new PodAttributionOptions();
        string[] expected =
        [
            "## Pod attribution",
            $"| `--{PodResourcesFlags.PodResourcesSocket}` | `{PodAttributionOptions.DefaultSocketPath}` |",
            $"| `--{PodResourcesFlags.PodResourcesRefresh}` | `{Durations.Format(defaults.RefreshPeriod)}` |",
            $"`{Durations.Format(PodAttributionOptions.MinRefreshPeriod)}` to `{Durations.Format(PodAttributionOptions.MaxRefreshPeriod)}`",
            $"| one call's deadline | {Seconds(PodAttributionService.CallTimeout)} |",
            $"| largest answer read | {MiB(PodAttributionService.MaxResponseBytes)} |",
            $"calls start at least {PodAttributionService.MinCallInterval.TotalMilliseconds} ms apart",
            $"{PodAttributionService.RequestedRefreshDelay.TotalMilliseconds} ms later",
        ];

        Assert.All(expected, text => Assert.Contains(text, doc, StringComparison.Ordinal));
        Assert.All(PodResourcesFlags.Options(), o => Assert.Contains($"| `{o.Name}` |", doc, StringComparison.Ordinal));
    }

    [Fact]
    public void DevicePluginDoc_ServeSettingsTable_ListsBothFlagsWithDefaults()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/device-plugin.md"));

        Assert.Contains($"| `--{PodResourcesFlags.PodResourcesSocket}` | `{PodAttributionOptions.DefaultSocketPath}` |", doc, StringComparison.Ordinal);
        Assert.Contains($"| `--{PodResourcesFlags.PodResourcesRefresh}` | `{Durations.Format(PodAttributionOptions.DefaultRefreshPeriod)}` |", doc, StringComparison.Ordinal);
    }

    [Fact]
    public void ReliabilityDoc_ClientBounds_MatchTheCode()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/reliability.md"));
        string[] expected =
        [
            $"| one List call | {Seconds(PodAttributionService.CallTimeout)} (`PodAttributionService.CallTimeout`)",
            $"| answer size | {MiB(PodAttributionService.MaxResponseBytes)} (`PodAttributionService.MaxResponseBytes`)",
            $"one call per {PodAttributionService.MinCallInterval.TotalMilliseconds} ms at most (`PodAttributionService.MinCallInterval`)",
        ];

        Assert.All(expected, text => Assert.Contains(text, doc, StringComparison.Ordinal));
    }
}
