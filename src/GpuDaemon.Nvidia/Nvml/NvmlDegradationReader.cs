namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// Signs that a GPU works but is degraded, read once for the validator. Every value is null when NVML does not
/// report it (NOT_SUPPORTED, or a driver without the call): a GPU without row remapping is not a degraded one.
/// </summary>
internal sealed record NvmlDegradation
{
    public uint? PcieLinkGeneration { get; init; }

    public uint? PcieLinkGenerationMax { get; init; }

    public uint? PcieLinkWidth { get; init; }

    public uint? PcieLinkWidthMax { get; init; }

    public NvmlRemappedRows? RemappedRows { get; init; }

    /// <summary>Uncorrected ECC errors since the driver loaded (the volatile counter).</summary>
    public ulong? VolatileUncorrectedEcc { get; init; }

    public bool? RetiredPagesPending { get; init; }

    public NvmlClockEventReasons? ClockEventReasons { get; init; }

    /// <summary>Calls that failed for a reason other than "not supported": which function, and NVML's words.</summary>
    public IReadOnlyList<NvmlException> Problems { get; init; } = [];
}

/// <summary>Reads <see cref="NvmlDegradation"/> for one GPU handle.</summary>
internal sealed class NvmlDegradationReader(NvmlApi api)
{
    public NvmlDegradation Read(nint handle)
    {
        var problems = new List<NvmlException>();
        T? Value<T>(NvmlStatus status, T value)
            where T : struct
        {
            if (status.IsSuccess)
            {
                return value;
            }

            if (!status.IsUnsupported)
            {
                problems.Add(api.Error(status));
            }

            return null;
        }

        return new NvmlDegradation
        {
            PcieLinkGeneration = Value(api.DeviceGetCurrPcieLinkGeneration(handle, out var generation), generation),
            PcieLinkGenerationMax = Value(api.DeviceGetMaxPcieLinkGeneration(handle, out var maxGeneration), maxGeneration),
            PcieLinkWidth = Value(api.DeviceGetCurrPcieLinkWidth(handle, out var width), width),
            PcieLinkWidthMax = Value(api.DeviceGetMaxPcieLinkWidth(handle, out var maxWidth), maxWidth),
            RemappedRows = Value(api.DeviceGetRemappedRowsState(handle, out var rows), rows),
            VolatileUncorrectedEcc = Value(api.DeviceGetTotalEccErrors(handle, NvmlMemoryError.Uncorrected, out var ecc), ecc),
            RetiredPagesPending = Value(api.DeviceGetRetiredPagesPendingStatus(handle, out var pending), pending),
            ClockEventReasons = Value(api.DeviceGetCurrentClocksEventReasons(handle, out var reasons), reasons) is { } bits ? (NvmlClockEventReasons)bits : null,
            Problems = problems,
        };
    }
}
