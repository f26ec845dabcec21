using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// One telemetry reading of one GPU. A counter the GPU does not have (NOT_SUPPORTED) reads as null;
/// so does one that fails for another reason (logged at debug); a lost GPU throws.
/// </summary>
internal sealed class NvmlTelemetryReader(NvmlApi api, ILogger logger) : IDisposable
{
    private readonly NvmlGpmSampler _gpm = new(api);

    private const double BytesPerMiB = 1024 * 1024;

    public GpuTelemetry Read(string uuid, nint handle, DateTimeOffset now)
    {
        var utilization = Value(uuid, api.DeviceGetUtilizationRates(handle, out var rates), rates);
        var memory = Value(uuid, api.DeviceGetMemory(handle, out var bytes), bytes);
        var remapped = Value(uuid, api.DeviceGetRemappedRows(handle, out var correctable, out var uncorrectable, out var remapFailed), (Correctable: (long)correctable, Uncorrectable: (long)uncorrectable, Failed: remapFailed));
        var gpm = _gpm.Read(uuid, handle);
        return new GpuTelemetry
        {
            Uuid = uuid,
            Timestamp = now,
            GpuUtilizationPercent = utilization?.Gpu,
            MemoryUtilizationPercent = utilization?.Memory,
            EncoderUtilizationPercent = Value(uuid, api.DeviceGetEncoderUtilization(handle, out var encoder), encoder),
            DecoderUtilizationPercent = Value(uuid, api.DeviceGetDecoderUtilization(handle, out var decoder), decoder),
            MemoryTotalMiB = memory is { } m ? MiB(m.Total) : null,
            MemoryUsedMiB = memory is { } u ? MiB(u.Used) : null,
            MemoryFreeMiB = memory is { } f ? MiB(f.Free) : null,
            MemoryReservedMiB = memory?.Reserved is { } reserved ? MiB(reserved) : null,
            TemperatureC = Value(uuid, api.DeviceGetTemperature(handle, out var celsius), celsius),
            PowerWatts = Value(uuid, api.DeviceGetPowerUsage(handle, out var milliwatts), milliwatts) / 1000.0,
            SmClockMHz = Value(uuid, api.DeviceGetClockInfo(handle, NvmlClock.Sm, out var sm), sm),
            MemoryClockMHz = Value(uuid, api.DeviceGetClockInfo(handle, NvmlClock.Memory, out var mem), mem),
            TotalEnergyJoules = Value(uuid, api.DeviceGetTotalEnergyConsumption(handle, out var millijoules), millijoules) / 1000.0,
            PcieReplayCount = Value(uuid, api.DeviceGetPcieReplayCounter(handle, out var replays), replays),
            EccCorrectedErrors = (long?)Value(uuid, api.DeviceGetTotalEccErrors(handle, NvmlMemoryError.Corrected, out var corrected), corrected),
            EccUncorrectedErrors = (long?)Value(uuid, api.DeviceGetTotalEccErrors(handle, NvmlMemoryError.Uncorrected, out var uncorrected), uncorrected),
            RemappedRowsCorrectable = remapped?.Correctable,
            RemappedRowsUncorrectable = remapped?.Uncorrectable,
            MemoryTemperatureC = Value(uuid, api.DeviceGetFieldValue(handle, NvmlApi.FieldMemoryTemperature, out var memoryCelsius), memoryCelsius),
            RowRemapFailure = remapped?.Failed,
            GrEngineActiveRatio = gpm.Graphics,
            TensorActiveRatio = gpm.Tensor,
            DramActiveRatio = gpm.Dram,
        };
    }

    /// <summary>Frees the GPM samples held between reads; call before NVML shuts down.</summary>
    public void Dispose() => _gpm.Dispose();

    private static long MiB(ulong bytes) => (long)Math.Round(bytes / BytesPerMiB);

    private T? Value<T>(string uuid, NvmlStatus status, T value)
        where T : struct
    {
        if (status.IsSuccess)
        {
            return value;
        }

        if (status.IsLost)
        {
            throw api.Error(status);
        }

        if (!status.IsUnsupported)
        {
            var problem = api.Error(status).Message;
            Log.CounterUnreadable(logger, uuid, problem);
        }

        return null;
    }
}
