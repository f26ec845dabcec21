using GpuDaemon.Cli;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Health;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin;

/// <summary>The device plugin on the NVML backend, through the real binding to the stand-in library.</summary>
public sealed class DevicePluginOnNvmlTests
{
    private const string Scenario = """
        gpus = 2
        gpu0.nvlink = 1
        gpu1.nvlink = 0
        """;

    [Fact]
    public async Task Run_NvmlBackend_RegistersAllocatesAndMarksXidUnhealthy()
    {
        using var driver = new StandInDriver(Scenario);
        await using var harness = await PluginHarness.StartAsync(driver.CreateBackend(TimeProvider.System), health: new HealthOptions { RecoveryPeriod = TimeSpan.FromHours(1) });
        var plugin = await harness.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2);
        var uuids = harness.Backend.Inventory.Gpus.Select(g => g.Uuid).ToList();

        var response = await plugin.AllocateAsync([uuids[1]]);
        driver.Control.RaiseXid(1, 79);
        var faulted = await harness.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 1);

        Assert.Equal(uuids, plugin.Devices.Select(d => d.ID));
        Assert.Equal(uuids[1], response.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Equal("Unhealthy", faulted.Devices[1].Health);
    }

    [Fact]
    public async Task Serve_BackendNvmlOnStandIns_RegistersLikeSimulated()
    {
        using var driver = new StandInDriver(Scenario);
        using var dir = new TempDirectory();
        await using var kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        await using var serve = await ServeProcess.StartWithArgsAsync(dir.Path, "--backend", "nvml", "--driver-root", driver.Root);

        var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, PluginHarness.Wait);
        var preferred = await plugin.PreferredAsync(2);

        Assert.Equal(ExitCodes.Ok, await serve.StopAsync());
        Assert.Equal(2, preferred.Count);
        Assert.Equal(string.Empty, serve.Error);
    }

    [Fact]
    public async Task Serve_BackendNvmlWithoutLibrary_OneLineErrorAndExitOne()
    {
        using var dir = new TempDirectory();

        var result = await CliRunner.RunAsync("serve", "--backend", "nvml", "--driver-root", dir.Path, "--device-plugin-dir", dir.Path, "--log-level", "none");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("libnvidia-ml.so.1", result.Error, StringComparison.Ordinal);
    }
}
