namespace GpuDaemon.Devices;

/// <summary>
/// One reading of a GPU's counters. Null means the GPU or backend does not report that value,
/// which is normal (NVML's NOT_SUPPORTED), not an error.
/// </summary>
public sealed record GpuTelemetry
{
    public required string Uuid { get; init; }

    public DateTimeOffset Timestamp { get; init; }

    public double? GpuUtilizationPercent { get; init; }

    public double? MemoryUtilizationPercent { get; init; }

    public double? EncoderUtilizationPercent { get; init; }

    public double? DecoderUtilizationPercent { get; init; }

    public long? MemoryUsedMiB { get; init; }

    public long? MemoryFreeMiB { get; init; }

    public long? MemoryTotalMiB { get; init; }

    /// <summary>Memory the driver and firmware set aside, outside used and free; only where the driver reports it.</summary>
    public long? MemoryReservedMiB { get; init; }

    public double? TemperatureC { get; init; }

    public double? PowerWatts { get; init; }

    public double? SmClockMHz { get; init; }

    public double? MemoryClockMHz { get; init; }

    public double? TotalEnergyJoules { get; init; }

    public long? PcieReplayCount { get; init; }

    public long? EccCorrectedErrors { get; init; }

    public long? EccUncorrectedErrors { get; init; }

    public long? RemappedRowsCorrectable { get; init; }

    public long? RemappedRowsUncorrectable { get; init; }

    /// <summary>HBM/memory temperature; only GPUs with a memory sensor report it.</summary>
    public double? MemoryTemperatureC { get; init; }

    /// <summary>True when a row remapping failed (the GPU needs service); null where remapping is not supported.</summary>
    public bool? RowRemapFailure { get; init; }

    /// <summary>
    /// Fraction (0–1) of the last sampling interval the graphics/compute engine was busy, from GPU Performance
    /// Monitoring (Hopper and later); null where the GPU has no GPM or no earlier sample exists yet.
    /// </summary>
    public double? GrEngineActiveRatio { get; init; }

    /// <summary>Fraction (0–1) of the last sampling interval the tensor pipes were busy (GPM).</summary>
    public double? TensorActiveRatio { get; init; }

    /// <summary>Fraction (0–1) of the last sampling interval device memory was busy (GPM).</summary>
    public double? DramActiveRatio { get; init; }
}
