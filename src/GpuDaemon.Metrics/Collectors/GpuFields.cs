using GpuDaemon.Devices;
using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>One dcgm-exporter field: its series name, type, help and where its value comes from.</summary>
internal sealed record GpuField(string Name, MetricType Type, string Help, Func<GpuTelemetry, double?> Read);

/// <summary>The dcgm-exporter fields GpuDaemon serves from telemetry, in dcgm-exporter's default order.</summary>
internal static class GpuFields
{
    public const string XidErrors = "DCGM_FI_DEV_XID_ERRORS";

    public static readonly IReadOnlyList<GpuField> All =
    [
        new("DCGM_FI_DEV_SM_CLOCK", MetricType.Gauge, "Streaming-multiprocessor clock of the GPU, MHz.", t => t.SmClockMHz),
        new("DCGM_FI_DEV_MEM_CLOCK", MetricType.Gauge, "Memory clock of the GPU, MHz.", t => t.MemoryClockMHz),
        new("DCGM_FI_DEV_MEMORY_TEMP", MetricType.Gauge, "Temperature of the GPU's memory, degrees Celsius.", t => t.MemoryTemperatureC),
        new("DCGM_FI_DEV_GPU_TEMP", MetricType.Gauge, "Temperature of the GPU die, degrees Celsius.", t => t.TemperatureC),
        new("DCGM_FI_DEV_POWER_USAGE", MetricType.Gauge, "Power the GPU draws now, watts.", t => t.PowerWatts),
        new("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", MetricType.Counter, "Energy the GPU has used since the driver loaded, millijoules.", t => t.TotalEnergyJoules * 1000),
        new("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", MetricType.Counter, "PCIe replays (link-level retries) since the driver loaded.", t => t.PcieReplayCount),
        new("DCGM_FI_DEV_GPU_UTIL", MetricType.Gauge, "Share of the last sample period in which a kernel ran on the GPU, percent.", t => t.GpuUtilizationPercent),
        new("DCGM_FI_DEV_MEM_COPY_UTIL", MetricType.Gauge, "Share of the last sample period in which device memory was read or written, percent.", t => t.MemoryUtilizationPercent),
        new("DCGM_FI_DEV_ENC_UTIL", MetricType.Gauge, "Video encoder utilization, percent.", t => t.EncoderUtilizationPercent),
        new("DCGM_FI_DEV_DEC_UTIL", MetricType.Gauge, "Video decoder utilization, percent.", t => t.DecoderUtilizationPercent),
        new("DCGM_FI_DEV_FB_FREE", MetricType.Gauge, "Device memory free, MiB.", t => t.MemoryFreeMiB),
        new("DCGM_FI_DEV_FB_USED", MetricType.Gauge, "Device memory in use, MiB.", t => t.MemoryUsedMiB),
        new("DCGM_FI_DEV_FB_RESERVED", MetricType.Gauge, "Device memory the driver and firmware set aside, MiB.", t => t.MemoryReservedMiB),
        new("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", MetricType.Counter, "Memory rows remapped after correctable errors.", t => t.RemappedRowsCorrectable),
        new("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", MetricType.Counter, "Memory rows remapped after uncorrectable errors.", t => t.RemappedRowsUncorrectable),
        new("DCGM_FI_DEV_ROW_REMAP_FAILURE", MetricType.Gauge, "1 when a memory row remapping failed and the GPU needs service, else 0.", t => t.RowRemapFailure is { } failed ? (failed ? 1 : 0) : null),
        new("DCGM_FI_PROF_GR_ENGINE_ACTIVE", MetricType.Gauge, "Fraction of the interval since the last scrape in which the graphics/compute engine was busy (0-1; NVML GPU Performance Monitoring).", t => t.GrEngineActiveRatio),
        new("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", MetricType.Gauge, "Fraction of the interval since the last scrape in which the tensor pipes were busy (0-1; NVML GPU Performance Monitoring).", t => t.TensorActiveRatio),
        new("DCGM_FI_PROF_DRAM_ACTIVE", MetricType.Gauge, "Fraction of the interval since the last scrape in which device memory was busy (0-1; NVML GPU Performance Monitoring).", t => t.DramActiveRatio),
    ];
}
