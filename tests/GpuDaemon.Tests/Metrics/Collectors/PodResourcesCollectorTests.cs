using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics.Collectors;

public sealed class PodResourcesCollectorTests
{
    private const string UpFamily =
        "# HELP gpudaemon_pod_resources_up 1 when the kubelet's pod-resources API answered the last List, else 0 (GPU series then carry no pod labels).\n" +
        "# TYPE gpudaemon_pod_resources_up gauge\n";

    [Fact]
    public async Task Scrape_GpuCollectorFails_UpSeriesStillServed()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), new FakePodAttribution());

        var scrape = await fixture.ScrapeAsync(new FailingGpuCollector(), fixture.PodResources);

        Assert.Equal(UpFamily + "gpudaemon_pod_resources_up 1\n", MetricsFixture.Family(scrape, "gpudaemon_pod_resources_up"));
        Assert.Contains("gpudaemon_scrape_errors_total{collector=\"gpu\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.True(fixture.PodResources.RunsInline);
    }

    [Fact]
    public async Task Scrape_AttributionOff_NoUpSeries()
    {
        var attribution = new FakePodAttribution { Enabled = false, Up = false };
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);

        var scrape = await fixture.ScrapeAsync();

        Assert.DoesNotContain("gpudaemon_pod_resources_up", scrape, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_scrape_errors_total{collector=\"pod_resources\"} 0\n", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_AttributionOnButDown_UpIsZero()
    {
        var attribution = new FakePodAttribution { Up = false };
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);

        var scrape = await fixture.ScrapeAsync(fixture.PodResources);

        Assert.Equal(UpFamily + "gpudaemon_pod_resources_up 0\n", MetricsFixture.Family(scrape, "gpudaemon_pod_resources_up"));
    }

    /// <summary>The GPU collector when the GPU library fails under it.</summary>
    private sealed class FailingGpuCollector : IMetricsCollector
    {
        public string Name => "gpu";

        public void Collect(MetricsBuilder metrics) => throw new InvalidOperationException("the GPU library failed");
    }
}
