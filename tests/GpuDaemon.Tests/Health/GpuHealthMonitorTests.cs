using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Health;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Tests.Health;

public sealed class GpuHealthMonitorTests
{
    private static readonly string Gpu0 = DefaultScenario.UuidFor(0);
    private static readonly string Gpu1 = DefaultScenario.UuidFor(1);
    private static readonly HealthOptions Config = new() { RecoveryPeriod = TimeSpan.FromSeconds(30), ProbeInterval = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Handle_CriticalXid_UnhealthyWithReasonAndSignal()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);
        var before = tracker.Changed.Version;

        tracker.Handle(Xid(file, Gpu1, 79));

        var health = tracker.Verdict(Gpu1);
        Assert.False(health.Healthy);
        Assert.Contains("Xid 79", health.Reason, StringComparison.Ordinal);
        Assert.True(tracker.Verdict(Gpu0).Healthy);
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

        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    [Fact]
    public async Task Handle_XidIgnoredByConfig_StaysHealthy()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config with { IgnoredXids = [79] });

        tracker.Handle(Xid(file, Gpu0, 79));
        tracker.Handle(Xid(file, Gpu0, 13));

        Assert.False(tracker.Verdict(Gpu0).Healthy);
        Assert.Contains("Xid 13", tracker.Verdict(Gpu0).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handle_HealthChecksOff_EverythingHealthy()
    {
        await using var file = await ScenarioFile.StartAsync(1, configure: s => s.Gpus[0].Healthy = false);
        await using var tracker = await Start(file, Config with { HealthChecks = false });

        tracker.Handle(Xid(file, Gpu0, 79));

        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    [Fact]
    public async Task StartAsync_GpuUnhealthyInScenario_UnhealthyFromTheStart()
    {
        await using var file = await ScenarioFile.StartAsync(2, configure: s => s.Gpus[1].Healthy = false);
        await using var tracker = await Start(file, Config);

        Assert.False(tracker.Verdict(Gpu1).Healthy);
        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    [Fact]
    public async Task Probe_AfterXidWithCleanChecks_HealthyOnlyAfterRecoveryPeriod()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);
        tracker.Handle(Xid(file, Gpu0, 79));

        file.Clock.Advance(TimeSpan.FromSeconds(25));
        Assert.False(tracker.Verdict(Gpu0).Healthy);

        file.Clock.Advance(TimeSpan.FromSeconds(10));
        var health = tracker.Verdict(Gpu0);
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

        Assert.False(tracker.Verdict(Gpu0).Healthy);
        file.Clock.Advance(TimeSpan.FromSeconds(15));
        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    [Fact]
    public async Task Probe_ScenarioUnhealthyThenHealthy_RecoversAfterPeriodWithoutRestart()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);

        await EditAndWaitForTransitionAsync(file, tracker, s => s.Gpus[0].Healthy = false);
        Assert.False(tracker.Verdict(Gpu0).Healthy);
        file.Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.False(tracker.Verdict(Gpu0).Healthy);

        file.Edit(s => s.Gpus[0].Healthy = true);
        file.Clock.Advance(TimeSpan.FromSeconds(40));

        Assert.True(tracker.Verdict(Gpu0).Healthy);
        Assert.True(tracker.Verdict(Gpu1).Healthy);
    }

    [Fact]
    public async Task Probe_SilentFailure_CaughtByPeriodicProbe()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);

        file.Edit(s => s.Gpus[0].Lost = true);
        file.Clock.Advance(Config.ProbeInterval);

        Assert.False(tracker.Verdict(Gpu0).Healthy);
        Assert.Contains("lost", tracker.Verdict(Gpu0).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_FromBackend_ReachTrackerWithoutCallingHandle()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);
        var seen = tracker.Changed.Version;

        file.Edit(s => s.Gpus[1].Xid.Add(48));

        await tracker.Changed.WaitForChangeAsync(seen, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("Xid 48", tracker.Verdict(Gpu1).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verdict_GpuNeverPresent_UnhealthyNoLongerPresent()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config);

        var verdict = tracker.Verdict("GPU-never-existed");

        Assert.False(verdict.Healthy);
        Assert.Contains("no longer present", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verdict_GpuRemovedFromScenario_UnhealthyAfterNextProbe()
    {
        await using var file = await ScenarioFile.StartAsync(2);
        await using var tracker = await Start(file, Config);
        Assert.True(tracker.Verdict(Gpu1).Healthy);

        file.Edit(s => s.Gpus.RemoveAt(1));
        file.Clock.Advance(Config.ProbeInterval);

        Assert.False(tracker.Verdict(Gpu1).Healthy);
        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    [Fact]
    public async Task Update_FrequentReloadsSameInterval_ProbeScheduleKeptAndGpuRecovers()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        var options = new TestOptionsMonitor<HealthOptions>(Config with { ProbeInterval = TimeSpan.FromSeconds(2), RecoveryPeriod = TimeSpan.FromSeconds(4) });
        await using var tracker = await Start(file, options);
        tracker.Handle(Xid(file, Gpu0, 79));

        // A reload every 0.5 s, each with a change that does not touch the interval, for 20 s.
        for (var step = 0; step < 40; step++)
        {
            options.Set(options.CurrentValue with { IgnoredXids = step % 2 == 0 ? [13] : [13, 31] });
            file.Clock.Advance(TimeSpan.FromMilliseconds(500));
        }

        Assert.True(tracker.Verdict(Gpu0).Healthy, tracker.Verdict(Gpu0).Reason);
    }

    [Fact]
    public async Task Update_ProbeIntervalChanged_NewIntervalTakesOver()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        var options = new TestOptionsMonitor<HealthOptions>(Config with { ProbeInterval = TimeSpan.FromMinutes(10) });
        await using var tracker = await Start(file, options);

        options.Set(options.CurrentValue with { ProbeInterval = TimeSpan.FromSeconds(1) });
        file.Edit(s => s.Gpus[0].Lost = true);
        file.Clock.Advance(TimeSpan.FromSeconds(1));

        Assert.False(tracker.Verdict(Gpu0).Healthy);
        Assert.Equal(TimeSpan.FromSeconds(1), tracker.Options.ProbeInterval);
    }

    [Fact]
    public async Task Update_HealthChecksTurnedOff_EveryGpuHealthyAndChangeSignalled()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        var options = new TestOptionsMonitor<HealthOptions>(Config);
        await using var tracker = await Start(file, options);
        tracker.Handle(Xid(file, Gpu0, 79));
        var seen = tracker.Changed.Version;

        options.Set(Config with { HealthChecks = false });

        Assert.True(tracker.Verdict(Gpu0).Healthy);
        Assert.True(tracker.Changed.Version > seen);
    }

    [Fact]
    public async Task ProbeTimer_NvmlGpuLostWithoutEvent_UnhealthyAtTheNextProbeOnly()
    {
        using var driver = new StandInDriver("gpus = 2");
        var clock = new ManualTimeProvider();
        await using var backend = await driver.StartBackendAsync(clock);
        await using var monitor = new GpuHealthMonitor(backend, new TestOptionsMonitor<HealthOptions>(Config), clock, TestLogging.Factory.CreateLogger<GpuHealthMonitor>());
        await monitor.StartAsync(default);
        var uuid = backend.Inventory.Gpus[1].Uuid;

        driver.Control.SetLost(1, lost: true);
        Assert.True(monitor.Verdict(uuid).Healthy);
        clock.Advance(Config.ProbeInterval);

        Assert.False(monitor.Verdict(uuid).Healthy);
        Assert.Contains("lost", monitor.Verdict(uuid).Reason, StringComparison.Ordinal);
        Assert.True(monitor.Verdict(backend.Inventory.Gpus[0].Uuid).Healthy);
    }

    /// <summary>A hung health check used to block the probe loop (and every PreStart) for good.</summary>
    [Fact]
    public async Task ProbeAll_OneGpuCheckHangs_ThatGpuUnhealthyOthersCheckedNothingWaitsTwice()
    {
        var clock = new ManualTimeProvider();
        await using var backend = new HangingBackend(SimulatedBackend.FromCount(2, clock, TestLogging.Logger));
        await backend.StartAsync(default);
        var timeout = TimeSpan.FromMilliseconds(200);
        await using var monitor = new GpuHealthMonitor(backend, new TestOptionsMonitor<HealthOptions>(Config with { RecoveryPeriod = TimeSpan.Zero }), clock, TestLogging.Factory.CreateLogger<GpuHealthMonitor>())
        {
            ProbeTimeout = timeout,
        };
        await monitor.StartAsync(default);

        backend.Hang(Gpu1);
        await Task.Run(monitor.ProbeAll).WaitAsync(TimeSpan.FromSeconds(10));
        var hung = monitor.Verdict(Gpu1);
        await Task.Run(monitor.ProbeAll).WaitAsync(TimeSpan.FromSeconds(10));
        var preStart = await Task.Run(() => monitor.ProbeNow(Gpu1)).WaitAsync(TimeSpan.FromSeconds(10));
        var other = await Task.Run(() => monitor.ProbeNow(Gpu0)).WaitAsync(TimeSpan.FromSeconds(10));
        var probesWhileHung = backend.Probes(Gpu1);
        var seen = monitor.Changed.Version;
        backend.Release();
        await SignalWait.UntilAsync(monitor.Changed, () => monitor.Verdict(Gpu1).Healthy, what: "the late answer");

        Assert.False(hung.Healthy);
        Assert.Equal("health check did not answer within 200ms", hung.Reason);
        Assert.False(preStart.Healthy);
        Assert.True(other.Healthy);
        Assert.True(monitor.Verdict(Gpu0).Healthy);
        Assert.Equal(2, probesWhileHung); // the start-up check, then the one that hung: never a second one beside it
        Assert.True(monitor.Changed.Version > seen);
        Assert.Equal(0, monitor.ProbesRunning);
    }

    [Fact]
    public async Task Handle_NvmlXid79OnALostGpu_ProbedAtOnceWithoutWaitingForTheTimer()
    {
        using var driver = new StandInDriver("gpus = 2");
        var clock = new ManualTimeProvider();
        await using var backend = await driver.StartBackendAsync(clock);
        await using var monitor = new GpuHealthMonitor(backend, new TestOptionsMonitor<HealthOptions>(Config), clock, TestLogging.Factory.CreateLogger<GpuHealthMonitor>());
        await monitor.StartAsync(default);
        using var stop = new CancellationTokenSource();
        var lost = backend.WatchEventsAsync(stop.Token).FirstMatchAsync(e => e.Kind == DeviceEventKind.Lost);

        driver.Control.SetLost(1, lost: true);
        driver.Control.RaiseXid(1, 79);

        Assert.Equal(backend.Inventory.Gpus[1].Uuid, (await lost).Uuid);
        Assert.False(monitor.Verdict(backend.Inventory.Gpus[1].Uuid).Healthy);
    }

    [Theory]
    [InlineData("0.0005")]
    [InlineData("0.099")]
    [InlineData("3601")]
    public void Problem_ProbeIntervalOutOfRange_Named(string seconds)
    {
        var options = new HealthOptions { ProbeInterval = TimeSpan.FromSeconds(double.Parse(seconds, System.Globalization.CultureInfo.InvariantCulture)) };

        Assert.StartsWith("probe-interval", options.Problem(), StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_Defaults_None()
    {
        Assert.Null(new HealthOptions().Problem());
    }

    [Fact]
    public async Task Handle_RecoveryPeriodZero_HealthyAtNextCleanProbe()
    {
        await using var file = await ScenarioFile.StartAsync(1);
        await using var tracker = await Start(file, Config with { RecoveryPeriod = TimeSpan.Zero });
        await EditAndWaitForTransitionAsync(file, tracker, s => s.Gpus[0].Healthy = false);
        Assert.False(tracker.Verdict(Gpu0).Healthy);

        file.Edit(s => s.Gpus[0].Healthy = true);
        tracker.Handle(new DeviceEvent(DeviceEventKind.Recovered, Gpu0, file.Clock.GetUtcNow(), "test"));

        Assert.True(tracker.Verdict(Gpu0).Healthy);
    }

    /// <summary>Edits the scenario and waits until the tracker has consumed the backend's event for it.</summary>
    private static async Task EditAndWaitForTransitionAsync(ScenarioFile file, GpuHealthMonitor tracker, Action<SimulationScenario> change)
    {
        var seen = tracker.Changed.Version;
        file.Edit(change);
        await tracker.Changed.WaitForChangeAsync(seen, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static DeviceEvent Xid(ScenarioFile file, string uuid, int code) =>
        new(DeviceEventKind.Xid, uuid, file.Clock.GetUtcNow(), "test", code);

    private static Task<GpuHealthMonitor> Start(ScenarioFile file, HealthOptions options) =>
        Start(file, new TestOptionsMonitor<HealthOptions>(options));

    private static async Task<GpuHealthMonitor> Start(ScenarioFile file, TestOptionsMonitor<HealthOptions> options)
    {
        var tracker = new GpuHealthMonitor(file.Backend, options, file.Clock, TestLogging.Factory.CreateLogger<GpuHealthMonitor>());
        await tracker.StartAsync(default);
        return tracker;
    }
}
