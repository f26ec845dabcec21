using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Health;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.PodResources;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Metrics;

/// <summary>A simulated backend, settable health and the metrics collectors over them, on a manual clock.</summary>
internal sealed class MetricsFixture : IAsyncDisposable
{
    private MetricsFixture(SimulationScenario scenario, IPodAttribution? attribution, ILoggerFactory? loggerFactory)
    {
        var logs = loggerFactory ?? NullLoggerFactory.Instance;
        Backend = SimulatedBackend.FromScenario(scenario, Time, TestLogging.Logger);
        Attribution = attribution;
        Xids = new XidTracker(Backend, Time, logs.CreateLogger<XidTracker>());
        Transitions = new HealthTransitions(Backend, Health);
        Gpu = new GpuCollector(Backend, Xids, Options, attribution, logs.CreateLogger<GpuCollector>());
        HealthCollector = new HealthCollector(Backend, Health, Transitions, Options);
        PodResources = new PodResourcesCollector(attribution);
    }

    public ManualTimeProvider Time { get; } = new();

    public SimulatedBackend Backend { get; }

    public SettableHealth Health { get; } = new();

    public IPodAttribution? Attribution { get; }

    public TestOptionsMonitor<MetricsOptions> Options { get; } = new(new MetricsOptions { NodeName = "node-1" });

    public XidTracker Xids { get; }

    public HealthTransitions Transitions { get; }

    public GpuCollector Gpu { get; }

    public HealthCollector HealthCollector { get; }

    public PodResourcesCollector PodResources { get; }

    public static async Task<MetricsFixture> StartAsync(SimulationScenario scenario, IPodAttribution? attribution = null, ILoggerFactory? loggerFactory = null)
    {
        var fixture = new MetricsFixture(scenario, attribution, loggerFactory);
        await fixture.Backend.StartAsync(default);
        await fixture.Transitions.StartAsync(default);
        return fixture;
    }

    public MetricsScraper Scraper(params IMetricsCollector[] collectors) =>
        new(collectors.Length > 0 ? collectors : [Gpu, HealthCollector, PodResources], Options, TimeProvider.System, NullLogger<MetricsScraper>.Instance);

    public Task<string> ScrapeAsync(params IMetricsCollector[] collectors) => Scraper(collectors).ScrapeAsync(default);

    /// <summary>One GPU with round numbers.</summary>
    public static SimulatedGpu Gpu0(string uuid = "GPU-a") => new()
    {
        Uuid = uuid,
        PciBusId = "00000000:18:00.0",
        MinorNumber = 0,
        MemoryMiB = 81559,
        UtilizationPercent = 50,
        MemoryUsedMiB = 1024,
        TemperatureC = 40,
        PowerWatts = 100,
    };

    public static SimulationScenario Scenario(params SimulatedGpu[] gpus) => new() { Gpus = [.. gpus] };

    /// <summary>GPU 0 in MIG mode (3g.40gb, 1g.10gb), GPU 1 whole.</summary>
    public static SimulationScenario MigScenario()
    {
        var mig = Gpu0("GPU-m");
        mig.Mig = new SimulatedMig
        {
            Enabled = true,
            Instances = [new SimulatedMigInstance { Profile = "3g.40gb", MemoryMiB = 40192, Uuid = "MIG-1" }, new SimulatedMigInstance { Profile = "1g.10gb", MemoryMiB = 9856, Uuid = "MIG-2" }],
        };
        var plain = Gpu0("GPU-p");
        plain.PciBusId = "00000000:2a:00.0";
        plain.MinorNumber = 1;
        return Scenario(mig, plain);
    }

    /// <summary>The lines of one family (HELP, TYPE, samples) from a scrape.</summary>
    public static string Family(string scrape, string name) =>
        string.Concat(scrape.Split('\n').Where(l => l.Length > 0 && (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)
            || l.StartsWith("# HELP " + name + " ", StringComparison.Ordinal) || l.StartsWith("# TYPE " + name + " ", StringComparison.Ordinal))).Select(l => l + "\n"));

    public async ValueTask DisposeAsync()
    {
        await Transitions.DisposeAsync();
        await Xids.DisposeAsync();
        await Backend.DisposeAsync();
    }
}
