using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Health;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Metrics;

/// <summary>Exact text of scrapes for known scenarios: plain, time-sliced, MIG, attribution down or missing.</summary>
public sealed class GpuScrapeTests
{
    internal const string Gpu0Labels = "gpu=\"0\",UUID=\"GPU-a\",pci_bus_id=\"00000000:18:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\",DCGM_FI_DRIVER_VERSION=\"550.127.05\"";

    [Fact]
    public async Task Scrape_PlainGpuHeldByOnePod_ExactText()
    {
        var attribution = new FakePodAttribution().Hold("GPU-a", new PodContainer("ml", "train-0", "trainer"));
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal(PlainExpected, scrape);
    }

    [Fact]
    public async Task Scrape_MemoryReservedReported_FbReservedSeriesAndFreeLessReserved()
    {
        var gpu = MetricsFixture.Gpu0();
        gpu.MemoryReservedMiB = 512;
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(gpu));

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal(
            "# HELP DCGM_FI_DEV_FB_RESERVED Device memory the driver and firmware set aside, MiB.\n" +
            "# TYPE DCGM_FI_DEV_FB_RESERVED gauge\n" +
            $"DCGM_FI_DEV_FB_RESERVED{{{Gpu0Labels}}} 512\n",
            MetricsFixture.Family(scrape, "DCGM_FI_DEV_FB_RESERVED"));
        Assert.Contains($"DCGM_FI_DEV_FB_FREE{{{Gpu0Labels}}} {81559 - 1024 - 512}\n", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_NoAttributionRegistered_GpuSeriesWithoutPodLabelsAndNoUpSeries()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()));

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal(
            "# HELP DCGM_FI_DEV_GPU_TEMP Temperature of the GPU die, degrees Celsius.\n" +
            "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{{Gpu0Labels}}} 40\n",
            MetricsFixture.Family(scrape, "DCGM_FI_DEV_GPU_TEMP"));
        Assert.DoesNotContain("gpudaemon_pod_resources_up", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_AttributionDown_NoPodLabelsAndUpIsZero()
    {
        var attribution = new FakePodAttribution().Hold("GPU-a", new PodContainer("ml", "train-0", "trainer"));
        attribution.GoDown();
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal($"DCGM_FI_DEV_POWER_USAGE{{{Gpu0Labels}}} 100\n", Samples(scrape, "DCGM_FI_DEV_POWER_USAGE"));
        Assert.Equal(
            "# HELP gpudaemon_pod_resources_up 1 when the kubelet's pod-resources API answered the last List, else 0 (GPU series then carry no pod labels).\n" +
            "# TYPE gpudaemon_pod_resources_up gauge\n" +
            "gpudaemon_pod_resources_up 0\n",
            MetricsFixture.Family(scrape, "gpudaemon_pod_resources_up"));
    }

    [Fact]
    public async Task Scrape_TimeSlicedGpuHeldByThree_OneSeriesPerContainerWithVgpu()
    {
        // A renamed shared resource (nvidia.com/gpu.shared) resolves to the same GPU UUID: the labels do not depend on the resource's name.
        var attribution = new FakePodAttribution().Hold("GPU-a",
            new PodContainer("a", "p1", "c1"), new PodContainer("a", "p2", "c1"), new PodContainer("b", "p3", "main"));
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), attribution);

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal(
            $"DCGM_FI_DEV_GPU_UTIL{{{Gpu0Labels},container=\"c1\",namespace=\"a\",pod=\"p1\",vgpu=\"0\"}} 50\n" +
            $"DCGM_FI_DEV_GPU_UTIL{{{Gpu0Labels},container=\"c1\",namespace=\"a\",pod=\"p2\",vgpu=\"1\"}} 50\n" +
            $"DCGM_FI_DEV_GPU_UTIL{{{Gpu0Labels},container=\"main\",namespace=\"b\",pod=\"p3\",vgpu=\"2\"}} 50\n",
            Samples(scrape, "DCGM_FI_DEV_GPU_UTIL"));
        Assert.Equal("gpudaemon_pod_resources_up 1\n", Samples(scrape, "gpudaemon_pod_resources_up"));
    }

    [Fact]
    public async Task Scrape_MigMixed_OneSeriesPerInstanceWithProfileAndId_PodOnItsInstance()
    {
        var scenario = MetricsFixture.MigScenario();
        scenario.Gpus[1].Gpm = false;
        var attribution = new FakePodAttribution().Hold("MIG-2", new PodContainer("ns", "small", "c"));
        await using var fixture = await MetricsFixture.StartAsync(scenario, attribution);
        var gi = fixture.Backend.Inventory.Gpus[0].Mig.Instances;

        var scrape = await fixture.ScrapeAsync();

        const string Common = "pci_bus_id=\"00000000:18:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\"";
        const string Node = "Hostname=\"node-1\",DCGM_FI_DRIVER_VERSION=\"550.127.05\"";
        Assert.Equal(
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{Common},GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"{gi[0].GpuInstanceId}\",{Node}}} 40\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{Common},GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"{gi[1].GpuInstanceId}\",{Node},container=\"c\",namespace=\"ns\",pod=\"small\"}} 40\n" +
            "DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",UUID=\"GPU-p\",pci_bus_id=\"00000000:2a:00.0\",device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\",DCGM_FI_DRIVER_VERSION=\"550.127.05\"} 40\n",
            Samples(scrape, "DCGM_FI_DEV_GPU_TEMP"));

        // The GPU without GPU Performance Monitoring has no tensor series: left out, not 0.
        Assert.Equal(2, Samples(scrape, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("UUID=\"GPU-p\"", Samples(scrape, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_LostGpu_ValueSeriesLeftOutHealthStillShown()
    {
        var lost = MetricsFixture.Gpu0();
        lost.Lost = true;
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(lost));
        fixture.Health.Set("GPU-a", new GpuHealthVerdict(false, "GPU lost (fell off the bus)", DateTimeOffset.UnixEpoch));

        var scrape = await fixture.ScrapeAsync();

        Assert.Empty(Samples(scrape, "DCGM_FI_DEV_GPU_TEMP"));
        Assert.Equal($"gpudaemon_gpu_healthy{{{Gpu0Labels}}} 0\n", Samples(scrape, "gpudaemon_gpu_healthy"));
        Assert.Equal("gpudaemon_gpu_health_info{gpu=\"0\",UUID=\"GPU-a\",category=\"lost\",reason=\"GPU lost (fell off the bus)\"} 1\n",
            Samples(scrape, "gpudaemon_gpu_health_info"));
    }

    [Fact]
    public async Task Scrape_XidEvents_LastXidAndCountsPerCode()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()));
        foreach (var code in new[] { 79, 13, 79 })
        {
            fixture.Xids.Record(new DeviceEvent(DeviceEventKind.Xid, "GPU-a", DateTimeOffset.UnixEpoch, "test", code));
        }

        var scrape = await fixture.ScrapeAsync();

        Assert.Equal($"DCGM_FI_DEV_XID_ERRORS{{{Gpu0Labels}}} 79\n", Samples(scrape, "DCGM_FI_DEV_XID_ERRORS"));
        Assert.Equal(
            "gpudaemon_xid_errors_total{gpu=\"0\",UUID=\"GPU-a\",xid=\"13\"} 1\n" +
            "gpudaemon_xid_errors_total{gpu=\"0\",UUID=\"GPU-a\",xid=\"79\"} 2\n",
            Samples(scrape, "gpudaemon_xid_errors_total"));
    }

    [Fact]
    public async Task XidTracker_MoreCodesThanTheBound_RestCountedAsOther()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()));
        for (var code = 1; code <= GpuDaemon.Metrics.Collectors.XidTracker.MaxCodesPerGpu + 5; code++)
        {
            fixture.Xids.Record(new DeviceEvent(DeviceEventKind.Xid, "GPU-a", DateTimeOffset.UnixEpoch, "test", code));
        }

        var (last, counts) = fixture.Xids.Snapshot("GPU-a");

        Assert.Equal(GpuDaemon.Metrics.Collectors.XidTracker.MaxCodesPerGpu + 5, last);
        Assert.Equal(GpuDaemon.Metrics.Collectors.XidTracker.MaxCodesPerGpu + 1, counts.Count);
        Assert.Equal(("other", 5L), counts[^1]);
    }

    [Fact]
    public async Task XidTracker_BackendEvent_CountedFromTheEventStream()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sim.json");
        var scenario = MetricsFixture.Scenario(MetricsFixture.Gpu0());
        ScenarioReader.WriteFile(path, scenario);
        await using var backend = SimulatedBackend.FromFile(path, TimeProvider.System, TestLogging.Logger);
        await backend.StartAsync(default);
        await using var xids = new GpuDaemon.Metrics.Collectors.XidTracker(backend, TimeProvider.System, TestLogging.Factory.CreateLogger<GpuDaemon.Metrics.Collectors.XidTracker>());
        await xids.StartAsync(default);

        var seen = xids.Changed.Version;
        scenario.Gpus[0].Xid.Add(48);
        ScenarioReader.WriteFile(path, scenario);
        backend.Reload();
        await xids.Changed.WaitForChangeAsync(seen, default).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(48, xids.Snapshot("GPU-a").Last);
        Assert.Null(xids.LoopProblem);
    }

    [Fact]
    public async Task Scrape_HealthTransitions_CountedByCategory()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()));
        fixture.Health.Set("GPU-a", new GpuHealthVerdict(false, "Xid 79 (fell off the bus)", DateTimeOffset.UnixEpoch));
        fixture.Transitions.Observe();
        fixture.Health.Set("GPU-a", new GpuHealthVerdict(true, "recovered: health checks clean for 30s after: Xid 79", DateTimeOffset.UnixEpoch));
        fixture.Transitions.Observe();

        var scrape = await fixture.ScrapeAsync();

        Assert.Contains("gpudaemon_health_transitions_total{reason=\"xid\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_health_transitions_total{reason=\"recovered\"} 1\n", scrape, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_health_transitions_total{reason=\"lost\"} 0\n", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_HostnameLabelLowercase_UsedOnGpuSeries()
    {
        await using var fixture = await MetricsFixture.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()));
        fixture.Options.Set(fixture.Options.CurrentValue with { HostnameLabel = "hostname" });

        var scrape = await fixture.ScrapeAsync();

        Assert.Contains(",hostname=\"node-1\",", Samples(scrape, "DCGM_FI_DEV_GPU_TEMP"), StringComparison.Ordinal);
        Assert.DoesNotContain("Hostname=", scrape, StringComparison.Ordinal);
    }

    private static string Samples(string scrape, string name) =>
        string.Concat(MetricsFixture.Family(scrape, name).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l + "\n"));

    internal const string Pod = ",container=\"trainer\",namespace=\"ml\",pod=\"train-0\"";

    internal const string PlainExpected =
        $"# HELP DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS Memory rows remapped after correctable errors.\n" +
        $"# TYPE DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS counter\n" +
        $"DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_DEC_UTIL Video decoder utilization, percent.\n" +
        $"# TYPE DCGM_FI_DEV_DEC_UTIL gauge\n" +
        $"DCGM_FI_DEV_DEC_UTIL{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_ENC_UTIL Video encoder utilization, percent.\n" +
        $"# TYPE DCGM_FI_DEV_ENC_UTIL gauge\n" +
        $"DCGM_FI_DEV_ENC_UTIL{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_FB_FREE Device memory free, MiB.\n" +
        $"# TYPE DCGM_FI_DEV_FB_FREE gauge\n" +
        $"DCGM_FI_DEV_FB_FREE{{{Gpu0Labels}{Pod}}} 80535\n" +
        $"# HELP DCGM_FI_DEV_FB_USED Device memory in use, MiB.\n" +
        $"# TYPE DCGM_FI_DEV_FB_USED gauge\n" +
        $"DCGM_FI_DEV_FB_USED{{{Gpu0Labels}{Pod}}} 1024\n" +
        $"# HELP DCGM_FI_DEV_GPU_TEMP Temperature of the GPU die, degrees Celsius.\n" +
        $"# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n" +
        $"DCGM_FI_DEV_GPU_TEMP{{{Gpu0Labels}{Pod}}} 40\n" +
        $"# HELP DCGM_FI_DEV_GPU_UTIL Share of the last sample period in which a kernel ran on the GPU, percent.\n" +
        $"# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n" +
        $"DCGM_FI_DEV_GPU_UTIL{{{Gpu0Labels}{Pod}}} 50\n" +
        $"# HELP DCGM_FI_DEV_MEMORY_TEMP Temperature of the GPU's memory, degrees Celsius.\n" +
        $"# TYPE DCGM_FI_DEV_MEMORY_TEMP gauge\n" +
        $"DCGM_FI_DEV_MEMORY_TEMP{{{Gpu0Labels}{Pod}}} 46\n" +
        $"# HELP DCGM_FI_DEV_MEM_CLOCK Memory clock of the GPU, MHz.\n" +
        $"# TYPE DCGM_FI_DEV_MEM_CLOCK gauge\n" +
        $"DCGM_FI_DEV_MEM_CLOCK{{{Gpu0Labels}{Pod}}} 2619\n" +
        $"# HELP DCGM_FI_DEV_MEM_COPY_UTIL Share of the last sample period in which device memory was read or written, percent.\n" +
        $"# TYPE DCGM_FI_DEV_MEM_COPY_UTIL gauge\n" +
        $"DCGM_FI_DEV_MEM_COPY_UTIL{{{Gpu0Labels}{Pod}}} 1.3\n" +
        $"# HELP DCGM_FI_DEV_PCIE_REPLAY_COUNTER PCIe replays (link-level retries) since the driver loaded.\n" +
        $"# TYPE DCGM_FI_DEV_PCIE_REPLAY_COUNTER counter\n" +
        $"DCGM_FI_DEV_PCIE_REPLAY_COUNTER{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_POWER_USAGE Power the GPU draws now, watts.\n" +
        $"# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n" +
        $"DCGM_FI_DEV_POWER_USAGE{{{Gpu0Labels}{Pod}}} 100\n" +
        $"# HELP DCGM_FI_DEV_ROW_REMAP_FAILURE 1 when a memory row remapping failed and the GPU needs service, else 0.\n" +
        $"# TYPE DCGM_FI_DEV_ROW_REMAP_FAILURE gauge\n" +
        $"DCGM_FI_DEV_ROW_REMAP_FAILURE{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_SM_CLOCK Streaming-multiprocessor clock of the GPU, MHz.\n" +
        $"# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n" +
        $"DCGM_FI_DEV_SM_CLOCK{{{Gpu0Labels}{Pod}}} 1980\n" +
        $"# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Energy the GPU has used since the driver loaded, millijoules.\n" +
        $"# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n" +
        $"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS Memory rows remapped after uncorrectable errors.\n" +
        $"# TYPE DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS counter\n" +
        $"DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_DEV_XID_ERRORS Code of the last Xid error the GPU reported since GpuDaemon started; 0 when none.\n" +
        $"# TYPE DCGM_FI_DEV_XID_ERRORS gauge\n" +
        $"DCGM_FI_DEV_XID_ERRORS{{{Gpu0Labels}{Pod}}} 0\n" +
        $"# HELP DCGM_FI_PROF_DRAM_ACTIVE Fraction of the interval since the last scrape in which device memory was busy (0-1; NVML GPU Performance Monitoring).\n" +
        $"# TYPE DCGM_FI_PROF_DRAM_ACTIVE gauge\n" +
        $"DCGM_FI_PROF_DRAM_ACTIVE{{{Gpu0Labels}{Pod}}} 0.0063\n" +
        $"# HELP DCGM_FI_PROF_GR_ENGINE_ACTIVE Fraction of the interval since the last scrape in which the graphics/compute engine was busy (0-1; NVML GPU Performance Monitoring).\n" +
        $"# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge\n" +
        $"DCGM_FI_PROF_GR_ENGINE_ACTIVE{{{Gpu0Labels}{Pod}}} 0.5\n" +
        $"# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Fraction of the interval since the last scrape in which the tensor pipes were busy (0-1; NVML GPU Performance Monitoring).\n" +
        $"# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge\n" +
        $"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{{Gpu0Labels}{Pod}}} 0.25\n" +
        $"# HELP gpudaemon_gpu_health_info Why the GPU has its health: the reason's category and text (always 1).\n" +
        $"# TYPE gpudaemon_gpu_health_info gauge\n" +
        $"gpudaemon_gpu_health_info{{gpu=\"0\",UUID=\"GPU-a\",category=\"healthy\",reason=\"ok\"}} 1\n" +
        $"# HELP gpudaemon_gpu_healthy 1 when GpuDaemon advertises the GPU as healthy to the kubelet, 0 when it keeps it out of the pool.\n" +
        $"# TYPE gpudaemon_gpu_healthy gauge\n" +
        $"gpudaemon_gpu_healthy{{{Gpu0Labels}}} 1\n" +
        $"# HELP gpudaemon_health_transitions_total Changes of a GPU between healthy and unhealthy since GpuDaemon started, by the category of the new verdict's reason.\n" +
        $"# TYPE gpudaemon_health_transitions_total counter\n" +
        $"gpudaemon_health_transitions_total{{reason=\"healthy\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"recovered\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"xid\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"ecc\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"lost\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"check_failed\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"gone\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"checks_off\"}} 0\n" +
        $"gpudaemon_health_transitions_total{{reason=\"other\"}} 0\n" +
        $"# HELP gpudaemon_pod_resources_up 1 when the kubelet's pod-resources API answered the last List, else 0 (GPU series then carry no pod labels).\n" +
        $"# TYPE gpudaemon_pod_resources_up gauge\n" +
        $"gpudaemon_pod_resources_up 1\n" +
        $"# HELP gpudaemon_scrape_errors_total Scrapes in which a collector was left out because it overran its time budget or failed\n" +
        $"# TYPE gpudaemon_scrape_errors_total counter\n" +
        $"gpudaemon_scrape_errors_total{{collector=\"gpu\"}} 0\n" +
        $"gpudaemon_scrape_errors_total{{collector=\"health\"}} 0\n" +
        $"gpudaemon_scrape_errors_total{{collector=\"pod_resources\"}} 0\n";
}
