using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Nvml;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Nvidia.Nvml;

public sealed class NvmlBackendStartFailureTests
{
    [Fact]
    public async Task StartAsync_NoLibraryUnderDriverRoot_ThrowsMessageNamingFileAndRemedies()
    {
        using var empty = new TempDirectory();
        await using var backend = new NvmlBackend(new NvmlBackendOptions { DriverRoot = empty.Path }, TimeProvider.System, NullLogger.Instance);

        var error = await Assert.ThrowsAsync<DeviceBackendException>(() => backend.StartAsync(CancellationToken.None));

        Assert.StartsWith($"cannot load NVML: libnvidia-ml.so.1 is not in {empty.Path}/usr/lib/", error.Message, StringComparison.Ordinal);
        Assert.Contains("runtimeClassName: nvidia", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_InitReturnsDriverNotLoaded_ThrowsMessageWithFunctionCodeAndRemedy()
    {
        using var driver = new StandInDriver("fail.nvmlInit_v2 = 9");
        await using var backend = driver.CreateBackend();

        var error = await Assert.ThrowsAsync<DeviceBackendException>(() => backend.StartAsync(CancellationToken.None));

        Assert.Equal(
            $"NVML did not start: nvmlInit_v2 returned NVML_ERROR_DRIVER_NOT_LOADED (9: Driver Not Loaded), library {driver.NvmlLibrary}; "
            + "the NVIDIA kernel module is not loaded on this node: check with nvidia-smi or lsmod on the host, or wait for the driver installer to finish",
            error.Message);
        Assert.Equal(0, driver.Control.InitCount);
    }

    [Fact]
    public async Task StartAsync_CountingGpusFails_ThrowsAndShutsNvmlDown()
    {
        using var driver = new StandInDriver("fail.nvmlDeviceGetCount_v2 = 999");
        await using var backend = driver.CreateBackend();

        var error = await Assert.ThrowsAsync<DeviceBackendException>(() => backend.StartAsync(CancellationToken.None));

        Assert.StartsWith("NVML started but could not list the GPUs: nvmlDeviceGetCount_v2 returned NVML_ERROR_UNKNOWN (999: Unknown Error)", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, driver.Control.InitCount);
    }

    [Fact]
    public async Task StartAsync_CalledTwice_Throws()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = await driver.StartBackendAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => backend.StartAsync(CancellationToken.None));
    }
}
