using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Health;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Health;

public sealed class HealthTrackerTests
{
    private static readonly string Gpu0 = DefaultScenario.UuidFor(0);
    private static readonly string Gpu1 = DefaultScenario.UuidFor(1);
    private static readonly PluginConfig Config = new() { RecoveryPeriod = TimeSpan.FromSeconds(30), ProbeInterval = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Handle_CriticalXid_UnhealthyWithReasonAndSignal()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);
        var before = tracker.Changed.Version;

        tracker.Handle(Xid(file, Gpu1, 79));

        var health = tracker.Get(Gpu1);
        Assert.False(health.Healthy);
        Assert.Equal("Unhealthy", health.KubeletValue);
        Assert.Contains("Xid 79", health.Reason, StringComparison.Ordinal);
        Assert.True(tracker.Get(Gpu0).Healthy);
        Assert.True(tracker.Changed.Version > before);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(31)]
    [InlineData(43)]
    [InlineData(45)]
    [InlineData(68)]
    [InlineData(109)]
    public async Task Handle_DefaultIgnoredXid_StaysHealthy(int xid)
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);

        tracker.Handle(Xid(file, Gpu0, xid));

        Assert.True(tracker.Get(Gpu0).Healthy);
    }

    [Fact]
    public async Task Handle_XidIgnoredByConfig_StaysHealthy()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config with { IgnoredXids = [79] });

        tracker.Handle(Xid(file, Gpu0, 79));
        tracker.Handle(Xid(file, Gpu0, 13));

        Assert.False(tracker.Get(Gpu0).Healthy);
        Assert.Contains("Xid 13", tracker.Get(Gpu0).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handle_HealthChecksOff_EverythingHealthy()
    {
        await using var file = await ScenarioFile.StartAsync(1, configure: s => s.Gpus[0].Healthy = false);
        await using var tracker = await Start(file, Config with { HealthChecks = false });

        tracker.Handle(Xid(file, Gpu0, 79));

        Assert.True(tracker.Get(Gpu0).Healthy);
    }

    [Fact]
    public async Task StartAsync_GpuUnhealthyInScenario_UnhealthyFromTheStart()
    {
        await using var file = await ScenarioFile.StartAsync(2, configure: s => s.Gpus[1].Healthy = false);
        await using var tracker = await Start(file, Config);

        Assert.False(tracker.Get(Gpu1).Healthy);
        Assert.True(tracker.Get(Gpu0).Healthy);
    }

    [Fact]
    public async Task Probe_AfterXidWithCleanChecks_HealthyOnlyAfterRecoveryPeriod()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);
        tracker.Handle(Xid(file, Gpu0, 79));

        file.Clock.Advance(TimeSpan.FromSeconds(25));
        Assert.False(tracker.Get(Gpu0).Healthy);

        file.Clock.Advance(TimeSpan.FromSeconds(10));
        var health = tracker.Get(Gpu0);
        Assert.True(health.Healthy);
        Assert.Contains("recovered", health.Reason, StringComparison.Ordinal);
        Assert.Contains("Xid 79", health.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_FaultRepeatsDuringRecovery_ClockRestarts()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);
        tracker.Handle(Xid(file, Gpu0, 79));
        file.Clock.Advance(TimeSpan.FromSeconds(20));

        tracker.Handle(Xid(file, Gpu0, 94));
        file.Clock.Advance(TimeSpan.FromSeconds(20));

        Assert.False(tracker.Get(Gpu0).Healthy);
        file.Clock.Advance(TimeSpan.FromSeconds(15));
        Assert.True(tracker.Get(Gpu0).Healthy);
    }

    [Fact]
    public async Task Probe_ScenarioUnhealthyThenHealthy_RecoversAfterPeriodWithoutRestart()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);

        await EditAndWaitForTransitionAsync(file, tracker, s => s.Gpus[0].Healthy = false);
        Assert.False(tracker.Get(Gpu0).Healthy);
        file.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.False(tracker.Get(Gpu0).Healthy);

        file.Edit(s => s.Gpus[0].Healthy = true);
        file.Clock.Advance(TimeSpan.FromSeconds(40));

        Assert.True(tracker.Get(Gpu0).Healthy);
        Assert.True(tracker.Get(Gpu1).Healthy);
    }

    [Fact]
    public async Task Probe_SilentFailure_CaughtByPeriodicProbe()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);

        file.Edit(s => s.Gpus[0].Lost = true);
        file.Clock.Advance(Config.ProbeInterval);

        Assert.False(tracker.Get(Gpu0).Healthy);
        Assert.Contains("lost", tracker.Get(Gpu0).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_FromBackend_ReachTrackerWithoutCallingHandle()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);
        var seen = tracker.Changed.Version;

        file.Edit(s => s.Gpus[1].Xid.Add(48));

        await tracker.Changed.WaitForChangeAsync(seen, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("Xid 48", tracker.Get(Gpu1).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_GpuRemoved_Unhealthy()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);

        Assert.False(tracker.Get("GPU-never-existed").Healthy);
    }

    [Fact]
    public async Task Handle_RecoveryPeriodZero_HealthyAtNextCleanProbe()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config with { RecoveryPeriod = TimeSpan.Zero });
        await EditAndWaitForTransitionAsync(file, tracker, s => s.Gpus[0].Healthy = false);
        Assert.False(tracker.Get(Gpu0).Healthy);

        file.Edit(s => s.Gpus[0].Healthy = true);
        tracker.Handle(new DeviceEvent(DeviceEventKind.Recovered, Gpu0, file.Clock.GetUtcNow(), "test"));

        Assert.True(tracker.Get(Gpu0).Healthy);
    }

    /// <summary>Edits the scenario and waits until the tracker has consumed the backend's event for it.</summary>
    private static async Task EditAndWaitForTransitionAsync(ScenarioFile file, HealthTracker tracker, Action<SimulationScenario> change)
    {
        var seen = tracker.Changed.Version;
        file.Edit(change);
        await tracker.Changed.WaitForChangeAsync(seen, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static DeviceEvent Xid(ScenarioFile file, string uuid, int code) =>
        new(DeviceEventKind.Xid, uuid, file.Clock.GetUtcNow(), "test", code);

    private static async Task<HealthTracker> Start(ScenarioFile file, PluginConfig config)
    {
        var tracker = new HealthTracker(file.Backend, config, file.Clock, TestLogging.Logger);
        await tracker.StartAsync(default);
        return tracker;
    }
}
