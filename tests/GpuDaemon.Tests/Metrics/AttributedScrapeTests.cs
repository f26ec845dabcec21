using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.PodResources;
using GpuDaemon.Protos.PodResources.V1;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using static GpuDaemon.Tests.Metrics.GpuScrapeTests;
using static GpuDaemon.Tests.TestSupport.FakePodResourcesServer;

namespace GpuDaemon.Tests.Metrics;

/// <summary>
/// Exact text of scrapes made by the real pieces together: the device plugin's plan (what it advertises),
/// <see cref="PodAttributionService"/> listing a fake kubelet on a temp-dir socket, and the collectors.
/// </summary>
public sealed class AttributedScrapeTests
{
    private const string Node = "Hostname=\"node-1\",DCGM_FI_DRIVER_VERSION=\"550.127.05\"";
    private const string MigCommon = "pci_bus_id=\"00000000:18:00.0\",device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\"";

    [Fact]
    public async Task Scrape_RenamedResource_PodLabelsFromTheKubeletExactText()
    {
        var plugin = new PluginOptions { ResourceName = "example.com/gpu" };
        await using var test = await Composed.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), plugin, plans => Answer(
            Pod("ml", "train-0", ("trainer", "example.com/gpu", [Id(plans, "example.com/gpu", 0)])),
            // Not a resource this agent advertises (the plain name, renamed away): ignored.
            Pod("other", "stray", ("main", "nvidia.com/gpu", ["GPU-a"]))));

        var scrape = await test.ScrapeAsync();

        Assert.Equal(PlainExpected, scrape);
    }

    [Fact]
    public async Task Scrape_RenamedSharedTimeSliced_OneSeriesPerContainerExactText()
    {
        var plugin = new PluginOptions { Replicas = 4, RenameShared = true };
        await using var test = await Composed.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), plugin, plans => Answer(
            Pod("ml", "train-0", ("trainer", "nvidia.com/gpu.shared", [Id(plans, "nvidia.com/gpu.shared", 0), Id(plans, "nvidia.com/gpu.shared", 1)])),
            Pod("ml", "infer-1", ("server", "nvidia.com/gpu.shared", [Id(plans, "nvidia.com/gpu.shared", 3)]))));

        var scrape = await test.ScrapeAsync();

        // Two containers hold replicas of GPU-a: each GPU series twice, ordered by namespace, pod, container;
        // the container holding two replicas is listed once.
        Assert.Equal(
            PerLine(PlainExpected, GpuScrapeTests.Pod,
                ",container=\"server\",namespace=\"ml\",pod=\"infer-1\",vgpu=\"0\"",
                ",container=\"trainer\",namespace=\"ml\",pod=\"train-0\",vgpu=\"1\""),
            scrape);
    }

    [Fact]
    public async Task Scrape_SocketMissing_NoPodLabelsAndUpZeroExactText()
    {
        await using var test = await Composed.StartAsync(MetricsFixture.Scenario(MetricsFixture.Gpu0()), new PluginOptions(), answer: null);

        var scrape = await test.ScrapeAsync();

        Assert.False(test.Service.Up);
        Assert.Equal(PlainExpected.Replace(GpuScrapeTests.Pod, string.Empty, StringComparison.Ordinal).Replace("gpudaemon_pod_resources_up 1\n", "gpudaemon_pod_resources_up 0\n", StringComparison.Ordinal), scrape);
    }

    [Fact]
    public async Task Scrape_MigMixedIndexIds_PodsOnTheirInstanceAndGpu()
    {
        var plugin = new PluginOptions { MigStrategy = MigStrategy.Mixed, DeviceIdStrategy = DeviceIdStrategy.Index };
        await using var test = await Composed.StartAsync(MetricsFixture.MigScenario(), plugin, plans => Answer(
            Pod("ns", "small", ("c", "nvidia.com/mig-1g.10gb", [Id(plans, "nvidia.com/mig-1g.10gb", 0)])),
            Pod("ns", "whole", ("c", "nvidia.com/gpu", [Id(plans, "nvidia.com/gpu", 0)]))));

        var scrape = await test.ScrapeAsync();

        Assert.Equal("0:2", Id(test.Plans, "nvidia.com/mig-1g.10gb", 0));
        Assert.Equal(
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{MigCommon},GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"1\",{Node}}} 40\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{MigCommon},GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"2\",{Node},container=\"c\",namespace=\"ns\",pod=\"small\"}} 40\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"1\",UUID=\"GPU-p\",pci_bus_id=\"00000000:2a:00.0\",device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\",{Node},container=\"c\",namespace=\"ns\",pod=\"whole\"}} 40\n",
            Samples(scrape, "DCGM_FI_DEV_GPU_TEMP"));
        Assert.Equal("gpudaemon_pod_resources_up 1\n", Samples(scrape, "gpudaemon_pod_resources_up"));
    }

    [Fact]
    public async Task Scrape_MigEnabledStrategyNone_WholeGpuHolderOnEveryInstance()
    {
        // --mig-strategy none advertises the MIG-enabled GPU whole, by its GPU UUID; its series are still per instance.
        await using var test = await Composed.StartAsync(MetricsFixture.MigScenario(), new PluginOptions(), plans => Answer(
            Pod("ns", "whole", ("c", "nvidia.com/gpu", [Id(plans, "nvidia.com/gpu", 0)]))));

        var scrape = await test.ScrapeAsync();

        Assert.Equal("GPU-m", Id(test.Plans, "nvidia.com/gpu", 0));
        Assert.Equal(
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{MigCommon},GPU_I_PROFILE=\"3g.40gb\",GPU_I_ID=\"1\",{Node},container=\"c\",namespace=\"ns\",pod=\"whole\"}} 40\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"0\",UUID=\"GPU-m\",{MigCommon},GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"2\",{Node},container=\"c\",namespace=\"ns\",pod=\"whole\"}} 40\n" +
            $"DCGM_FI_DEV_GPU_TEMP{{gpu=\"1\",UUID=\"GPU-p\",pci_bus_id=\"00000000:2a:00.0\",device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\",{Node}}} 40\n",
            Samples(scrape, "DCGM_FI_DEV_GPU_TEMP"));
    }

    /// <summary>The ID the plan advertises as the <paramref name="index"/>th device of <paramref name="resource"/>.</summary>
    private static string Id(IReadOnlyList<ResourcePlan> plans, string resource, int index) =>
        plans.Single(p => p.ResourceName == resource).Devices[index].Id;

    /// <summary><paramref name="text"/> with each line that contains <paramref name="marker"/> written once per replacement.</summary>
    private static string PerLine(string text, string marker, params string[] replacements) =>
        string.Concat(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).SelectMany(line => line.Contains(marker, StringComparison.Ordinal)
            ? replacements.Select(r => line.Replace(marker, r, StringComparison.Ordinal) + "\n")
            : [line + "\n"]));

    private static string Samples(string scrape, string name) =>
        string.Concat(MetricsFixture.Family(scrape, name).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l + "\n"));

    /// <summary>The advertised devices, planned once the simulated backend has its inventory.</summary>
    private sealed class PlannedDevices : IAdvertisedDevices
    {
        public AdvertisedDeviceSet Current { get; set; } = AdvertisedDeviceSet.Empty;
    }

    /// <summary>The metrics fixture whose pod attribution is the real service, listing a fake kubelet (or a missing socket).</summary>
    private sealed class Composed : IAsyncDisposable
    {
        private readonly TempDirectory _dir = new();
        private readonly PlannedDevices _advertised = new();
        private FakePodResourcesServer? _server;
        private MetricsFixture? _fixture;

        private Composed()
        {
            var socket = _dir.File("kubelet.sock");
            Service = new PodAttributionService(_advertised, new PluginActivity(), new TestOptionsMonitor<PodAttributionOptions>(new PodAttributionOptions { SocketPath = socket }),
                Clock, TestLogging.Factory.CreateLogger<PodAttributionService>());
        }

        public ManualTimeProvider Clock { get; } = new();

        public PodAttributionService Service { get; }

        public IReadOnlyList<ResourcePlan> Plans { get; private set; } = [];

        private MetricsFixture Fixture => _fixture ?? throw new InvalidOperationException("not started");

        /// <param name="answer">What the kubelet lists, from the plan; null: no kubelet (the socket is missing).</param>
        public static async Task<Composed> StartAsync(SimulationScenario scenario, PluginOptions plugin, Func<IReadOnlyList<ResourcePlan>, ListPodResourcesResponse>? answer)
        {
            var test = new Composed();
            test._fixture = await MetricsFixture.StartAsync(scenario, test.Service);
            test.Plans = ResourcePlanner.Plan(test.Fixture.Backend.Inventory, plugin);
            test._advertised.Current = new AdvertisedDeviceSet(test.Plans);
            if (answer is not null)
            {
                test._server = await FakePodResourcesServer.StartAsync(test._dir.File("kubelet.sock"), test.Clock);
                test._server.Response = answer(test.Plans);
            }

            await test.Service.StartAsync(default);
            await test.UntilFirstRefreshAsync();
            return test;
        }

        public Task<string> ScrapeAsync() => Fixture.ScrapeAsync();

        public async ValueTask DisposeAsync()
        {
            await Service.DisposeAsync();
            if (_server is not null)
            {
                await _server.DisposeAsync();
            }

            if (_fixture is not null)
            {
                await _fixture.DisposeAsync();
            }

            _dir.Dispose();
        }

        private async Task UntilFirstRefreshAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (true)
            {
                var seen = Service.Progress.Version;
                if (Service.Calls == 1 && Service.WaitingUntil is not null)
                {
                    return;
                }

                await Service.Progress.WaitForChangeAsync(seen, timeout.Token);
            }
        }
    }
}
