using System.Globalization;
using System.Text.RegularExpressions;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics;

/// <summary>docs/metrics.md and docs/reliability.md against the code: series names, the default port, the limits.</summary>
public sealed partial class MetricsDocsTests
{
    /// <summary>Series another subsystem adds through <see cref="IMetricsCollector"/> (the validator's gate).</summary>
    private static readonly string[] EmittedElsewhere = [GpuDaemon.Cli.Hosting.ValidationReporting.MetricName];

    private static readonly string MetricsDoc = File.ReadAllText(RepoFiles.Path("docs/metrics.md"));

    [Fact]
    public async Task MetricsDoc_SeriesNames_ExactlyTheOnesTheCodeEmits()
    {
        var documented = SeriesCell().Matches(MetricsDoc).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        var emitted = (await EveryEmittedNameAsync()).Concat(EmittedElsewhere).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(documented.Except(emitted).Order());
        Assert.Empty(emitted.Except(documented).Order());
    }

    [Fact]
    public void MetricsDoc_DefaultsAndFlags_AreTheOnesInCode()
    {
        Assert.Equal(MetricsOptions.DefaultListen, $"0.0.0.0:{MetricsOptions.DefaultPort}");
        Assert.Contains($"| `--{MetricsFlags.MetricsListen}` | `{MetricsOptions.DefaultListen}` |", MetricsDoc, StringComparison.Ordinal);
        Assert.Contains($"| `--{MetricsFlags.HostnameLabel}` | `{MetricsOptions.DefaultHostnameLabel}` |", MetricsDoc, StringComparison.Ordinal);
        Assert.Contains($"At most {XidTracker.MaxCodesPerGpu} distinct codes per GPU", MetricsDoc, StringComparison.Ordinal);
        Assert.Contains($"at most {HealthReasons.MaxReasonLength} characters", MetricsDoc, StringComparison.Ordinal);
        Assert.Contains($"budget of {MetricsOptions.DefaultCollectorBudget.TotalSeconds} s", MetricsDoc, StringComparison.Ordinal);
        Assert.Contains(string.Join("`, `", HealthReasons.Categories), MetricsDoc, StringComparison.Ordinal);
        Assert.Contains($"`{MetricsOptions.DefaultListen}`", File.ReadAllText(RepoFiles.Path("README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void ReliabilityDoc_MetricsLimits_StatedWithTheValuesInCode()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/reliability.md"));
        string[] expected =
        [
            $"| open connections (Kestrel `MaxConcurrentConnections`) | {MetricsLimits.DefaultMaxConnections} |",
            $"| concurrent scrapes | {MetricsLimits.DefaultMaxConcurrentScrapes} |",
            $"| request headers, in all | {MetricsLimits.DefaultMaxRequestHeadersBytes / 1024} KiB |",
            $"| request header count | {MetricsLimits.DefaultMaxRequestHeaderCount} |",
            $"| request line | {MetricsLimits.DefaultMaxRequestLineBytes / 1024} KiB |",
            $"| time to send the request headers (Kestrel `RequestHeadersTimeout`) | {MetricsLimits.DefaultRequestHeadersTimeout.TotalSeconds} s |",
            $"| idle kept-alive connection (Kestrel `KeepAliveTimeout`) | {MetricsLimits.DefaultKeepAliveTimeout.TotalSeconds} s |",
            $"| time one collector may take in one scrape | {MetricsOptions.DefaultCollectorBudget.TotalSeconds} s |",
            $"| slow readers (Kestrel `MinResponseDataRate`) | {MetricsLimits.MinResponseBytesPerSecond} bytes/s after a {MetricsLimits.MinResponseGrace.TotalSeconds} s grace",
        ];

        Assert.All(expected, text => Assert.Contains(text, doc, StringComparison.Ordinal));
    }

    /// <summary>Every name a full scrape writes (all collectors, attribution, Xids, allocations) plus every dcgm field the code maps.</summary>
    private static async Task<IEnumerable<string>> EveryEmittedNameAsync()
    {
        var attribution = new FakePodAttribution().Hold("GPU-a", new PodContainer("ns", "p", "c"));
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);
        fixture.Xids.Record(new DeviceEvent(DeviceEventKind.Xid, "GPU-a", DateTimeOffset.UnixEpoch, "test", 79));
        var activity = new PluginActivity();
        activity.RecordAllocate("nvidia.com/gpu", AllocateResult.Ok, TimeSpan.FromMilliseconds(1));
        activity.RecordRegistration();
        var scrape = await fixture.ScrapeAsync(fixture.Gpu, fixture.HealthCollector, new DaemonCollector(fixture.Backend, new RegisteredStatus(), activity), new ProcessCollector(), new RuntimeCollector(), fixture.PodResources);

        var families = scrape.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]);
        return families.Concat(GpuFields.All.Select(f => f.Name));
    }

    [GeneratedRegex(@"^\| `([A-Za-z_][A-Za-z0-9_]*)` \| (?:gauge|counter|histogram)", RegexOptions.Multiline)]
    private static partial Regex SeriesCell();

    private sealed class RegisteredStatus : IDevicePluginStatus
    {
        public IReadOnlyList<ResourceStatus> Resources => [new("nvidia.com/gpu", true, "registered", DateTimeOffset.UnixEpoch, null)];

        public bool Started => true;

        public ChangeSignal Changed { get; } = new();
    }
}
