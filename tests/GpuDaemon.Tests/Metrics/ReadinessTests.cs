using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Collectors;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics;

/// <summary>/readyz and the plugin's own series against the device plugin and the in-process fake kubelet.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Check_KubeletAppearsThenRestarts_NotReadyReadyAndBackAgain()
    {
        var backend = SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger);
        await using var harness = await PluginHarness.StartAsync(backend, startKubelet: false);
        IDevicePluginStatus status = harness.Manager;
        var readiness = new DevicePluginReadiness(status);

        var before = readiness.Check();
        Assert.False(before.Ready);
        Assert.StartsWith("nvidia.com/gpu is ", before.Reason, StringComparison.Ordinal);
        Assert.Contains("not registered with the kubelet", before.Reason, StringComparison.Ordinal);

        await harness.Kubelet.StartAsync();
        await WaitAsync(status, () => readiness.Check().Ready);
        Assert.Equal("registered with the kubelet: nvidia.com/gpu", readiness.Check().Reason);
        Assert.Equal(1, harness.Manager.Activity.Registrations);

        await harness.Kubelet.RestartAsync();
        await WaitAsync(status, () => harness.Manager.Activity.Registrations == 2 && readiness.Check().Ready);
    }

    [Fact]
    public void Check_PluginNotStarted_NotReady()
    {
        var readiness = new DevicePluginReadiness(new StubStatus());

        Assert.Equal(new ReadinessResult(false, "the device plugin has not started"), readiness.Check());
    }

    [Fact]
    public async Task Allocate_OkAndRefused_CountedByResultWithDurations()
    {
        var backend = SimulatedBackend.FromCount(2, TimeProvider.System, TestLogging.Logger);
        await using var harness = await PluginHarness.StartAsync(backend);
        var plugin = await harness.WaitForAsync("nvidia.com/gpu", p => p.Devices.Count == 2);
        var allocated = harness.Manager.Activity.Allocated.Version;

        await plugin.AllocateAsync([plugin.Devices[0].ID]);
        await Assert.ThrowsAsync<RpcException>(() => plugin.AllocateAsync(["no-such-gpu"]));

        var metrics = new MetricsBuilder();
        new DaemonCollector(backend, harness.Manager, harness.Manager.Activity).Collect(metrics);
        var text = GpuDaemon.Metrics.Exposition.TextExposition.Write(metrics.Families);
        Assert.Contains("gpudaemon_allocations_total{resource=\"nvidia.com/gpu\",result=\"ok\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_allocations_total{resource=\"nvidia.com/gpu\",result=\"invalid_argument\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_allocate_duration_seconds_bucket{le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_allocate_duration_seconds_count 2\n", text, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_kubelet_registered{resource=\"nvidia.com/gpu\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_kubelet_registrations_total 1\n", text, StringComparison.Ordinal);
        Assert.Equal(allocated + 2, harness.Manager.Activity.Allocated.Version);
    }

    [Fact]
    public void PluginActivity_Durations_BucketedCumulatively()
    {
        var activity = new PluginActivity();
        activity.RecordAllocate("r", AllocateResult.Ok, TimeSpan.FromMilliseconds(0.05));
        activity.RecordAllocate("r", AllocateResult.FailedPrecondition, TimeSpan.FromMilliseconds(3));
        activity.RecordAllocate("r", AllocateResult.Ok, TimeSpan.FromSeconds(5));

        var histogram = activity.AllocateDurations();

        Assert.Equal(1, histogram.CumulativeCounts[0]); // ≤ 0.1 ms
        Assert.Equal(2, histogram.CumulativeCounts[PluginActivity.DurationBounds.ToList().IndexOf(0.005)]);
        Assert.Equal(2, histogram.CumulativeCounts[^2]); // ≤ 1 s
        Assert.Equal(3, histogram.CumulativeCounts[^1]);
        Assert.Equal(3, histogram.Count);
        Assert.Equal(5.00305, histogram.SumSeconds, 6);
        Assert.Equal([new AllocationCount("r", AllocateResult.Ok, 2), new AllocationCount("r", AllocateResult.FailedPrecondition, 1)], activity.Allocations());
    }

    private static async Task WaitAsync(IDevicePluginStatus status, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(PluginHarness.Wait);
        while (true)
        {
            var seen = status.Changed.Version;
            if (condition())
            {
                return;
            }

            await status.Changed.WaitForChangeAsync(seen, timeout.Token);
        }
    }

    private sealed class StubStatus : IDevicePluginStatus
    {
        public IReadOnlyList<ResourceStatus> Resources => [];

        public bool Started => false;

        public GpuDaemon.Devices.ChangeSignal Changed { get; } = new();
    }
}
