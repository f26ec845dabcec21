using System.Globalization;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics.Collectors;

public sealed class RuntimeCollectorTests
{
    [Fact]
    public void Collect_AfterAllocating_AllocatedBytesGrowByAtLeastThat()
    {
        var before = Value(Collect(new RuntimeCollector()), "dotnet_gc_allocated_bytes_total");
        var kept = new byte[4 * 1024 * 1024];
        GC.KeepAlive(kept);

        var after = Value(Collect(new RuntimeCollector()), "dotnet_gc_allocated_bytes_total");

        // The counter is the runtime's cheap reading (GC.GetTotalAllocatedBytes(precise: false)): it moves in
        // allocation-context steps, so it may trail the exact count by one context (8 KiB) per thread.
        const int Slack = 64 * 1024;
        Assert.True(after - before >= kept.Length - Slack, $"allocated bytes went from {before} to {after}");
    }

    [Fact]
    public void Collect_AfterACollection_CountsItByGenerationAndTheJit()
    {
        var before = Value(Collect(new RuntimeCollector()), "dotnet_gc_collections_total{generation=\"2\"}");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);

        var text = Collect(new RuntimeCollector());

        Assert.True(Value(text, "dotnet_gc_collections_total{generation=\"2\"}") > before);
        Assert.True(Value(text, "dotnet_gc_collections_total{generation=\"0\"}") >= Value(text, "dotnet_gc_collections_total{generation=\"2\"}"));
        Assert.True(Value(text, "dotnet_jit_methods_total") > 0);
        Assert.True(Value(text, "dotnet_threadpool_threads") >= 0);
        Assert.Contains("# TYPE dotnet_gc_pause_seconds_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_committed_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_jit_compilation_seconds_total counter\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void RecordRegistration_FirstAndLater_OnlyTheFirstTakesTheSnapshot()
    {
        var activity = new PluginActivity();
        Assert.Null(activity.FirstRegistration);

        var first = activity.RecordRegistration();
        var second = activity.RecordRegistration();

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Same(first, activity.FirstRegistration);
        Assert.Equal(2, activity.Registrations);
        Assert.True(first.JittedMethods > 0);
        Assert.True(first.At >= GpuDaemon.Devices.ProcessStart.Time);
    }

    [Fact]
    public void DaemonCollector_BeforeAndAfterTheFirstRegistration_StartUpSeriesOnlyAfter()
    {
        var backend = SimulatedBackend.FromCount(1, TimeProvider.System, TestLogging.Logger);
        var activity = new PluginActivity();
        Assert.DoesNotContain("gpudaemon_first_registration", Collect(new DaemonCollector(backend, null, activity)), StringComparison.Ordinal);

        activity.RecordRegistration();
        var text = Collect(new DaemonCollector(backend, null, activity));

        var sinceStart = Value(text, "gpudaemon_first_registration_seconds");
        Assert.InRange(sinceStart, 0, (DateTimeOffset.UtcNow - GpuDaemon.Devices.ProcessStart.Time).TotalSeconds + 1);
        Assert.True(Value(text, "gpudaemon_first_registration_jit_seconds") >= 0);
        Assert.Equal(activity.FirstRegistration!.JittedMethods, Value(text, "gpudaemon_first_registration_jitted_methods"));
    }

    private static string Collect(IMetricsCollector collector)
    {
        var metrics = new MetricsBuilder();
        collector.Collect(metrics);
        return TextExposition.Write(metrics.Families);
    }

    private static double Value(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
