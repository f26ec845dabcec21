using System.Buffers;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Metrics;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics;

/// <summary>
/// What a scrape allocates, measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> on the synchronous path
/// (the collectors' Collect, then MetricsScraper.Compose, which merges and writes the text): the garbage each scrape
/// leaves is what fills the GC's gen0 budget and the resident memory metrics add. Ceilings, not timings.
/// </summary>
public sealed class MetricsScraperAllocationTests
{
    /// <summary>
    /// Bytes per written sample, collect and write together. Today about 60 (a sample in its family's list and the
    /// list's growth, a telemetry read per GPU); it was about 1,000 when every sample had its label array and the text
    /// went through a StringBuilder. A regression to per-sample label arrays or strings (200 bytes or more) fails.
    /// </summary>
    private const int MaxBytesPerSample = 160;

    /// <summary>Merging and writing alone, whatever the sample count: the families' order, a list of segments, the error family.</summary>
    private const int MaxComposeBytes = 8 * 1024;

    [Theory]
    [InlineData(false, 8 * 4 * 20)]
    [InlineData(true, 64 * 20)]
    public async Task Compose_BenchShapes_AllocationPerSampleUnderCeiling(bool mig, int minimumSamples)
    {
        await using var fixture = await MetricsFixture.StartAsync(Shape(mig, out var attribution), attribution);
        var scraper = new MetricsScraper([fixture.Gpu, fixture.HealthCollector], fixture.Options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<MetricsScraper>.Instance)
        {
            Segments = ArrayPool<byte>.Create(GpuDaemon.Metrics.Exposition.ScrapeBuffer.SegmentBytes, 64),
        };
        var warm = Collect(fixture);
        scraper.Compose(warm).Dispose(); // label sets encoded, dedup set sized, segments in the pool: what every later scrape finds

        var start = GC.GetAllocatedBytesForCurrentThread();
        var builders = Collect(fixture);
        var collected = GC.GetAllocatedBytesForCurrentThread();
        long samples;
        using (var text = scraper.Compose(builders))
        {
            var composed = GC.GetAllocatedBytesForCurrentThread();
            samples = text.ToString().Split('\n').Count(line => line.Length > 0 && line[0] != '#');
            Assert.True(composed - collected <= MaxComposeBytes, $"merging and writing {samples} samples allocated {composed - collected} bytes; the ceiling is {MaxComposeBytes}");
            Assert.True(samples >= minimumSamples, $"{samples} samples written, at least {minimumSamples} expected");
            var perSample = (composed - start) / samples;
            Assert.True(perSample <= MaxBytesPerSample, $"a scrape of {samples} samples allocated {composed - start} bytes, {perSample} per sample; the ceiling is {MaxBytesPerSample}");
        }
    }

    [Fact]
    public async Task Compose_AttributionChanges_NewPodLabelsWritten()
    {
        // The cached label sets follow the attribution map: a new map is a new set of series.
        await using var fixture = await MetricsFixture.StartAsync(Shape(mig: false, out var attribution), attribution);
        var scraper = fixture.Scraper();
        var before = await scraper.ScrapeAsync(default);

        attribution.Hold("GPU-bench000-0000-4000-8000-000000000000", new PodContainer("other", "newcomer", "c"));
        var after = await scraper.ScrapeAsync(default);

        Assert.DoesNotContain("pod=\"newcomer\"", before, StringComparison.Ordinal);
        Assert.Contains("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-bench000-0000-4000-8000-000000000000\",", after, StringComparison.Ordinal);
        Assert.Contains("container=\"c\",namespace=\"other\",pod=\"newcomer\"} ", after, StringComparison.Ordinal);
        Assert.DoesNotContain("pod=\"gpu-pod-000\"", after, StringComparison.Ordinal);
    }

    private static MetricsBuilder?[] Collect(MetricsFixture fixture)
    {
        var gpu = new MetricsBuilder();
        fixture.Gpu.Collect(gpu);
        var health = new MetricsBuilder();
        fixture.HealthCollector.Collect(health);
        return [gpu, health];
    }

    /// <summary>The benchmark's two shapes: 8 GPUs each held by 4 containers (time-slicing), or 8 × 8 MIG instances held by one each.</summary>
    private static SimulationScenario Shape(bool mig, out FakePodAttribution attribution)
    {
        attribution = new FakePodAttribution();
        var gpus = new List<SimulatedGpu>();
        for (var i = 0; i < 8; i++)
        {
            var gpu = MetricsFixture.Gpu0($"GPU-bench000-0000-4000-8000-{i:D12}");
            gpu.PciBusId = $"00000000:{0x18 + i:x2}:00.0";
            gpu.MinorNumber = i;
            if (mig)
            {
                gpu.Mig = new SimulatedMig
                {
                    Enabled = true,
                    Instances = [.. Enumerable.Range(0, 8).Select(k => new SimulatedMigInstance { Profile = "1g.10gb", MemoryMiB = 9856, Uuid = $"MIG-bench{i:D3}-0000-4000-8000-{k:D12}" })],
                };
                for (var k = 0; k < 8; k++)
                {
                    attribution.Hold($"MIG-bench{i:D3}-0000-4000-8000-{k:D12}", new PodContainer("bench", $"mig-pod-{(i * 8) + k:D3}", "main"));
                }
            }
            else
            {
                attribution.Hold(gpu.Uuid, [.. Enumerable.Range(0, 4).Select(k => new PodContainer("bench", $"gpu-pod-{(k * 8) + i:D3}", "main"))]);
            }

            gpus.Add(gpu);
        }

        return MetricsFixture.Scenario([.. gpus]);
    }
}
