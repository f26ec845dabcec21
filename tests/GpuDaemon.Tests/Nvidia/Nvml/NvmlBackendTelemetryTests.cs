using GpuDaemon.Devices;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Nvidia.Nvml;

public sealed class NvmlBackendTelemetryTests
{
    [Fact]
    public async Task ReadTelemetry_EveryCounterSupported_MapsEachNvmlReading()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            gpu0.memory_total_mib = 81559
            gpu0.memory_used_mib = 2048
            gpu0.memory_reserved_mib = 512
            gpu0.util_gpu = 37
            gpu0.util_memory = 12
            gpu0.util_encoder = 5
            gpu0.util_decoder = 6
            gpu0.temperature_c = 41
            gpu0.power_mw = 123456
            gpu0.clock_sm_mhz = 1755
            gpu0.clock_mem_mhz = 2619
            gpu0.energy_mj = 98765432
            gpu0.pcie_replay = 7
            gpu0.ecc_corrected = 3
            gpu0.ecc_uncorrected = 1
            gpu0.remapped_correctable = 2
            gpu0.remapped_uncorrectable = 4
            """);
        var clock = new ManualTimeProvider();
        await using var backend = await driver.StartBackendAsync(clock);
        var uuid = backend.Inventory.Gpus[0].Uuid;

        var reading = backend.ReadTelemetry(uuid);

        Assert.Equal(
            new GpuTelemetry
            {
                Uuid = uuid,
                Timestamp = clock.GetUtcNow(),
                GpuUtilizationPercent = 37,
                MemoryUtilizationPercent = 12,
                EncoderUtilizationPercent = 5,
                DecoderUtilizationPercent = 6,
                MemoryTotalMiB = 81559,
                MemoryUsedMiB = 2048,
                MemoryFreeMiB = 81559 - 2048 - 512,
                MemoryReservedMiB = 512,
                TemperatureC = 41,
                PowerWatts = 123.456,
                SmClockMHz = 1755,
                MemoryClockMHz = 2619,
                TotalEnergyJoules = 98765.432,
                PcieReplayCount = 7,
                EccCorrectedErrors = 3,
                EccUncorrectedErrors = 1,
                RemappedRowsCorrectable = 2,
                RemappedRowsUncorrectable = 4,
                MemoryTemperatureC = 40,
                RowRemapFailure = false,
            },
            reading);
    }

    [Fact]
    public async Task ReadTelemetry_GpmSupported_RatiosFromTheSampleOfThePreviousRead()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            gpu0.gpm_graphics_pct = 80
            gpu0.gpm_tensor_pct = 45
            gpu0.gpm_dram_pct = 12
            """);
        var backend = await driver.StartBackendAsync();
        var uuid = backend.Inventory.Gpus[0].Uuid;

        var first = backend.ReadTelemetry(uuid);
        var second = backend.ReadTelemetry(uuid);
        var held = driver.Control.GpmSamples;
        await backend.DisposeAsync();

        Assert.Equal((null, null, null), (first.GrEngineActiveRatio, first.TensorActiveRatio, first.DramActiveRatio));
        Assert.Equal((0.8, 0.45, 0.12), (second.GrEngineActiveRatio, second.TensorActiveRatio, second.DramActiveRatio));
        Assert.Equal(1, held); // one sample kept per GPU between reads
        Assert.Equal(0, driver.Control.GpmSamples);
    }

    [Fact]
    public async Task ReadTelemetry_NoGpmNoMemorySensorRemapFailed_LeftOutOrFlagged()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            gpu0.gpm = false
            gpu0.memory_temp_c = 0
            gpu0.row_remap_failed = true
            """);
        await using var backend = await driver.StartBackendAsync();
        var uuid = backend.Inventory.Gpus[0].Uuid;

        backend.ReadTelemetry(uuid);
        var reading = backend.ReadTelemetry(uuid);

        Assert.Null(reading.GrEngineActiveRatio);
        Assert.Null(reading.TensorActiveRatio);
        Assert.Null(reading.DramActiveRatio);
        Assert.Null(reading.MemoryTemperatureC);
        Assert.True(reading.RowRemapFailure);
        Assert.Equal(0, driver.Control.GpmSamples);
    }

    [Fact]
    public async Task ReadTelemetry_CountersNotSupported_ReadsThemAsNull()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            fail.nvmlDeviceGetPowerUsage = 3
            fail.nvmlDeviceGetTotalEccErrors = 3
            fail.nvmlDeviceGetRemappedRows = 3
            fail.nvmlDeviceGetEncoderUtilization = 3
            fail.nvmlDeviceGetTotalEnergyConsumption = 999
            """);

        var reading = await ReadOnlyGpuAsync(driver);

        Assert.Null(reading.PowerWatts);
        Assert.Null(reading.EccCorrectedErrors);
        Assert.Null(reading.EccUncorrectedErrors);
        Assert.Null(reading.RemappedRowsCorrectable);
        Assert.Null(reading.RemappedRowsUncorrectable);
        Assert.Null(reading.EncoderUtilizationPercent);
        Assert.Null(reading.TotalEnergyJoules);
        Assert.NotNull(reading.TemperatureC);
        Assert.NotNull(reading.DecoderUtilizationPercent);
    }

    [Fact]
    public async Task ReadTelemetry_MemoryV2NotSupported_ReportsNoReservedMemory()
    {
        using var driver = new StandInDriver("""
            gpus = 1
            gpu0.memory_used_mib = 1000
            gpu0.memory_reserved_mib = 500
            fail.nvmlDeviceGetMemoryInfo_v2 = 3
            """);

        var reading = await ReadOnlyGpuAsync(driver);

        Assert.Null(reading.MemoryReservedMiB);
        Assert.Equal(1500, reading.MemoryUsedMiB);
    }

    [Fact]
    public async Task ReadTelemetry_UnknownUuid_ThrowsOneLine()
    {
        using var driver = new StandInDriver("gpus = 1");
        await using var backend = await driver.StartBackendAsync();

        var error = Assert.Throws<DeviceBackendException>(() => backend.ReadTelemetry("GPU-nope"));

        Assert.Equal("no GPU with UUID GPU-nope on this node; 'gpudaemon devices' lists the ones NVML sees", error.Message);
    }

    private static async Task<GpuTelemetry> ReadOnlyGpuAsync(StandInDriver driver)
    {
        await using var backend = await driver.StartBackendAsync();
        return backend.ReadTelemetry(backend.Inventory.Gpus[0].Uuid);
    }
}
