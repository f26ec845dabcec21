using GpuDaemon.Cli;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin;

/// <summary>
/// The fault matrix of docs/reliability.md ("The device plugin under faults"), on the stand-in NVML library
/// through the real binding and on the simulated backend. The library-missing case is
/// <see cref="DevicePluginOnNvmlTests.Serve_BackendNvmlWithoutLibrary_OneLineErrorAndExitOne"/>; a lost GPU on the
/// simulated backend is <see cref="DevicePluginManagerTests.Run_UnhealthyDeviceAllocated_FailedPreconditionReachesKubelet"/>.
/// </summary>
public sealed class PluginFaultTests
{
    private const string Gpu = "nvidia.com/gpu";

    /// <summary>Only explicit checks (the test's) run: the interval is the longest allowed.</summary>
    private static readonly HealthOptions ExplicitProbes = new() { ProbeInterval = HealthOptions.MaxProbeInterval, RecoveryPeriod = TimeSpan.FromHours(1) };

    private const string FourGpus = """
        gpus = 4
        gpu0.nvlink = 1
        gpu1.nvlink = 0
        gpu2.nvlink = 3
        gpu3.nvlink = 2
        """;

    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Serve_NvmlInitFails_OneLineErrorAndExitOne()
    {
        using var driver = new StandInDriver("fail.nvmlInit_v2 = 9");
        using var dir = new TempDirectory();

        var result = await CliRunner.RunAsync("serve", "--backend", "nvml", "--driver-root", driver.Root, "--device-plugin-dir", dir.Path, "--log-level", "none");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("nvmlInit_v2", line, StringComparison.Ordinal);
        Assert.Contains(driver.NvmlLibrary, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NvmlGpuLostBeforeAllocate_RefusedFailedPreconditionOthersServe()
    {
        using var driver = new StandInDriver(FourGpus);
        await using var harness = await PluginHarness.StartAsync(driver.CreateBackend(TimeProvider.System), health: ExplicitProbes);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);
        var uuids = harness.Backend.Inventory.Gpus.Select(g => g.Uuid).ToList();

        driver.Control.SetLost(2, lost: true);
        harness.Health.ProbeAll();
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 3);
        var refused = await Assert.ThrowsAsync<RpcException>(() => plugin.AllocateAsync([uuids[2]]));
        var allocated = await plugin.AllocateAsync([uuids[3]]);
        var preferred = await plugin.PreferredAsync(2);

        Assert.Equal(GrpcStatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains(uuids[2], refused.Detail, StringComparison.Ordinal);
        Assert.Contains("lost", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(uuids[3], allocated.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]);
        Assert.DoesNotContain(uuids[2], preferred);
    }

    /// <summary>
    /// 1,000 Xids a second for two seconds on one GPU: that GPU is Unhealthy, the others stay Healthy, the
    /// kubelet gets a handful of device lists (not one per Xid), and the backlog drains (a sentinel Xid raised
    /// after the storm on another GPU is seen).
    /// </summary>
    [Fact]
    public async Task Run_NvmlXidStormOnOneGpu_ThatGpuUnhealthyUpdatesCoalescedBacklogDrains()
    {
        using var driver = new StandInDriver(FourGpus);
        await using var harness = await PluginHarness.StartAsync(driver.CreateBackend(TimeProvider.System), health: ExplicitProbes);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);
        var updatesBefore = plugin.Updates;

        // Paced by a timer to make the rate, not to wait for anything: 200 ticks of 10 Xids.
        using (var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(10)))
        {
            for (var tick = 0; tick < 200 && await pace.WaitForNextTickAsync(); tick++)
            {
                for (var i = 0; i < 10; i++)
                {
                    driver.Control.RaiseXid(1, 79);
                }
            }
        }

        driver.Control.RaiseXid(3, 48);
        var after = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);

        Assert.Equal(["Healthy", "Unhealthy", "Healthy", "Unhealthy"], after.Devices.Select(d => d.Health));
        Assert.InRange(after.Updates - updatesBefore, 1, 4);
        Assert.True(harness.Health.ProbesRunning <= 4);
    }

    [Fact]
    public async Task Run_SimulatedXidStormOnOneGpu_ThatGpuUnhealthyUpdatesCoalesced()
    {
        await using var file = await ScenarioFile.StartAsync(4);
        await using var harness = await PluginHarness.StartAsync(file.Backend, health: ExplicitProbes);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);
        var updatesBefore = plugin.Updates;

        file.Edit(s => s.Gpus[1].Xid.AddRange(Enumerable.Repeat(79, 2000)));
        file.Edit(s => s.Gpus[3].Xid.Add(48));
        var after = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 2);

        Assert.Equal(["Healthy", "Unhealthy", "Healthy", "Unhealthy"], after.Devices.Select(d => d.Health));
        Assert.InRange(after.Updates - updatesBefore, 1, 4);
    }

    /// <summary>
    /// nvmlDeviceGetTemperature (the health check) hangs for one GPU: that GPU goes Unhealthy once the check's
    /// timeout passes, PreStartContainer for the other GPUs still answers, PreStart for the hung one is refused
    /// at once, and when the call returns the GPU is checked again as usual.
    /// </summary>
    [Fact]
    public async Task Run_NvmlHealthCheckHangs_ThatGpuUnhealthyOthersServeNothingHangs()
    {
        using var driver = new StandInDriver(FourGpus);
        var timeout = TimeSpan.FromMilliseconds(300);
        await using var harness = await PluginHarness.StartAsync(driver.CreateBackend(TimeProvider.System), new PluginOptions { PreStartRequired = true },
            ExplicitProbes with { RecoveryPeriod = TimeSpan.Zero }, probeTimeout: timeout);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);
        var uuids = harness.Backend.Inventory.Gpus.Select(g => g.Uuid).ToList();

        driver.Control.SetTemperatureHang(1, hang: true);
        await Task.Run(harness.Health.ProbeAll).WaitAsync(HangGuard);
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 3);
        var whileHung = plugin.Devices.Select(d => d.Health).ToList();
        await PreStartAsync(plugin, uuids[0]).WaitAsync(HangGuard);
        var refused = await Assert.ThrowsAsync<RpcException>(() => PreStartAsync(plugin, uuids[1]).WaitAsync(HangGuard));
        await Task.Run(harness.Health.ProbeAll).WaitAsync(HangGuard);
        var hungCalls = driver.Control.HungCalls(1);
        driver.Control.SetTemperatureHang(1, hang: false);
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);

        Assert.Equal(["Healthy", "Unhealthy", "Healthy", "Healthy"], whileHung);
        Assert.Equal(GrpcStatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains("health check did not answer within 300ms", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(1, hungCalls);
    }

    [Fact]
    public async Task Run_SimulatedHealthCheckHangs_ThatGpuUnhealthyOthersServe()
    {
        var backend = new HangingBackend(SimulatedBackend.FromCount(4, TimeProvider.System, TestLogging.Logger));
        await using var harness = await PluginHarness.StartAsync(backend, new PluginOptions { PreStartRequired = true }, ExplicitProbes, probeTimeout: TimeSpan.FromMilliseconds(300));
        await harness.WaitForAsync(Gpu, p => p.HealthyCount == 4);

        backend.Hang(DefaultScenario.UuidFor(2));
        var refused = await Assert.ThrowsAsync<RpcException>(() => PreStartAsync(harness.Kubelet.Find(Gpu)!, DefaultScenario.UuidFor(2)).WaitAsync(HangGuard));
        var plugin = await harness.WaitForAsync(Gpu, p => p.HealthyCount == 3);
        await PreStartAsync(plugin, DefaultScenario.UuidFor(3)).WaitAsync(HangGuard);
        var allocated = await plugin.AllocateAsync([DefaultScenario.UuidFor(0)]).WaitAsync(HangGuard);

        Assert.Equal(GrpcStatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Equal("Unhealthy", plugin.Devices[2].Health);
        Assert.Single(allocated.ContainerResponses);
    }

    private static Task<PreStartContainerResponse> PreStartAsync(EmulatedPlugin plugin, string id) =>
        plugin.Client.UnaryAsync(DevicePluginApi.PreStartContainer, new PreStartContainerRequest { DevicesIds = { id } });
}
