using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// The NVML entry points GpuDaemon uses, called through unmanaged function pointers looked up in the
/// library the resolver loaded. Only blittable types cross the boundary, so nothing is marshalled.
/// Binding per library instance (rather than one process-wide import) lets a test load its own copy
/// of the stand-in library. An entry point the loaded library lacks answers
/// <see cref="NvmlReturn.FunctionNotFound"/>, as NVML itself does for a function an older driver lacks.
/// </summary>
internal sealed unsafe partial class NvmlApi
{
    private const int TextBufferSize = 96; // the header's largest name/UUID buffer
    private const int VersionBufferSize = 80;
    private const int TemperatureSensorGpu = 0;
    private const int VolatileEccCounter = 0;

    private readonly LoadedLibrary _library;

    public NvmlApi(LoadedLibrary library)
    {
        _library = library;
    }

    public string LibraryPath => _library.Path;

    public NvmlStatus Init() => Invoke("nvmlInit_v2");

    public NvmlStatus Shutdown() => Invoke("nvmlShutdown");

    /// <summary>NVML's own words for a code; the code's name when the library cannot say.</summary>
    public string ErrorString(NvmlReturn code)
    {
        var fn = (delegate* unmanaged<NvmlReturn, byte*>)_library.Export("nvmlErrorString");
        var text = fn == null ? null : fn(code);
        return text == null ? code.ConstantName() : NativeText.FromNullTerminated(text);
    }

    /// <summary>An exception for a failed call, with NVML's description of the code.</summary>
    public NvmlException Error(NvmlStatus status) => new(status.Function, status.Code, ErrorString(status.Code));

    /// <summary>Throws an <see cref="NvmlException"/> unless the call succeeded.</summary>
    public void Check(NvmlStatus status)
    {
        if (!status.IsSuccess)
        {
            throw Error(status);
        }
    }

    public NvmlStatus SystemGetDriverVersion(out string version) => SystemText("nvmlSystemGetDriverVersion", out version);

    public NvmlStatus SystemGetNvmlVersion(out string version) => SystemText("nvmlSystemGetNVMLVersion", out version);

    /// <summary>The newest CUDA version the driver supports, e.g. 12040 for 12.4.</summary>
    public NvmlStatus SystemGetCudaDriverVersion(out int version)
    {
        fixed (int* value = &version)
        {
            return Invoke("nvmlSystemGetCudaDriverVersion_v2", value);
        }
    }

    public NvmlStatus DeviceGetCount(out uint count)
    {
        fixed (uint* value = &count)
        {
            return Invoke("nvmlDeviceGetCount_v2", value);
        }
    }

    public NvmlStatus DeviceGetHandleByIndex(uint index, out nint device)
    {
        fixed (nint* value = &device)
        {
            return InvokeIndexed("nvmlDeviceGetHandleByIndex_v2", index, value);
        }
    }

    public NvmlStatus DeviceGetName(nint device, out string name) => DeviceText("nvmlDeviceGetName", device, out name);

    public NvmlStatus DeviceGetUuid(nint device, out string uuid) => DeviceText("nvmlDeviceGetUUID", device, out uuid);

    public NvmlStatus DeviceGetMinorNumber(nint device, out uint minor) => DeviceValue("nvmlDeviceGetMinorNumber", device, out minor);

    public NvmlStatus DeviceGetPciInfo(nint device, out NvmlPciInfo pci) => DeviceValue("nvmlDeviceGetPciInfo_v3", device, out pci);

    public NvmlStatus DeviceGetMemoryInfoV2(nint device, out NvmlMemoryV2 memory)
    {
        memory = new NvmlMemoryV2 { Version = NvmlMemoryV2.StructVersion };
        fixed (NvmlMemoryV2* value = &memory)
        {
            return Invoke("nvmlDeviceGetMemoryInfo_v2", device, value);
        }
    }

    public NvmlStatus DeviceGetMemoryInfo(nint device, out NvmlMemoryV1 memory) => DeviceValue("nvmlDeviceGetMemoryInfo", device, out memory);

    /// <summary>
    /// Total, used and free memory, and reserved memory where the driver reports it: asks the versioned
    /// getter first and falls back to the first one when this driver or GPU does not have it.
    /// </summary>
    public NvmlStatus DeviceGetMemory(nint device, out NvmlMemoryReading reading)
    {
        var v2 = DeviceGetMemoryInfoV2(device, out var second);
        if (v2.IsSuccess)
        {
            reading = new NvmlMemoryReading(second.Total, second.Used, second.Free, second.Reserved);
            return v2;
        }

        if (!v2.IsUnsupported && v2.Code != NvmlReturn.ArgumentVersionMismatch)
        {
            reading = default;
            return v2;
        }

        var v1 = DeviceGetMemoryInfo(device, out var first);
        reading = v1.IsSuccess ? new NvmlMemoryReading(first.Total, first.Used, first.Free, null) : default;
        return v1;
    }

    public NvmlStatus DeviceGetUtilizationRates(nint device, out NvmlUtilization utilization) =>
        DeviceValue("nvmlDeviceGetUtilizationRates", device, out utilization);

    public NvmlStatus DeviceGetEncoderUtilization(nint device, out uint percent) => SampledPercent("nvmlDeviceGetEncoderUtilization", device, out percent);

    public NvmlStatus DeviceGetDecoderUtilization(nint device, out uint percent) => SampledPercent("nvmlDeviceGetDecoderUtilization", device, out percent);

    public NvmlStatus DeviceGetTemperature(nint device, out uint celsius)
    {
        fixed (uint* value = &celsius)
        {
            return Invoke("nvmlDeviceGetTemperature", device, TemperatureSensorGpu, value);
        }
    }

    public NvmlStatus DeviceGetPowerUsage(nint device, out uint milliwatts) => DeviceValue("nvmlDeviceGetPowerUsage", device, out milliwatts);

    public NvmlStatus DeviceGetClockInfo(nint device, NvmlClock clock, out uint megahertz)
    {
        fixed (uint* value = &megahertz)
        {
            return Invoke("nvmlDeviceGetClockInfo", device, (uint)clock, value);
        }
    }

    public NvmlStatus DeviceGetTotalEnergyConsumption(nint device, out ulong millijoules) =>
        DeviceValue("nvmlDeviceGetTotalEnergyConsumption", device, out millijoules);

    public NvmlStatus DeviceGetPcieReplayCounter(nint device, out uint count) => DeviceValue("nvmlDeviceGetPcieReplayCounter", device, out count);

    /// <summary>ECC errors since the driver loaded (the volatile counter).</summary>
    public NvmlStatus DeviceGetTotalEccErrors(nint device, NvmlMemoryError errorType, out ulong count)
    {
        const string name = "nvmlDeviceGetTotalEccErrors";
        count = 0;
        var fn = (delegate* unmanaged<nint, int, int, ulong*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (ulong* value = &count)
        {
            return new(fn(device, (int)errorType, VolatileEccCounter, value), name);
        }
    }

    public NvmlStatus DeviceGetRemappedRows(nint device, out uint correctable, out uint uncorrectable)
    {
        const string name = "nvmlDeviceGetRemappedRows";
        correctable = uncorrectable = 0;
        var fn = (delegate* unmanaged<nint, uint*, uint*, uint*, uint*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        uint pending, failed;
        fixed (uint* corr = &correctable, unc = &uncorrectable)
        {
            return new(fn(device, corr, unc, &pending, &failed), name);
        }
    }

    public NvmlStatus DeviceGetNvLinkState(nint device, uint link, out bool active)
    {
        uint state = 0;
        var status = Invoke("nvmlDeviceGetNvLinkState", device, link, &state);
        active = state == 1;
        return status;
    }

    public NvmlStatus DeviceGetNvLinkRemotePciInfo(nint device, uint link, out NvmlPciInfo pci)
    {
        fixed (NvmlPciInfo* value = &pci)
        {
            return Invoke("nvmlDeviceGetNvLinkRemotePciInfo_v2", device, link, value);
        }
    }

    public NvmlStatus DeviceGetMigMode(nint device, out uint current, out uint pending)
    {
        fixed (uint* now = &current, next = &pending)
        {
            return Invoke("nvmlDeviceGetMigMode", device, now, next);
        }
    }

    /// <summary>The GPU's CUDA compute capability, e.g. 9 and 0 for a Hopper GPU.</summary>
    public NvmlStatus DeviceGetCudaComputeCapability(nint device, out int major, out int minor)
    {
        fixed (int* first = &major, second = &minor)
        {
            return Invoke("nvmlDeviceGetCudaComputeCapability", device, first, second);
        }
    }

    public NvmlStatus DeviceGetMaxMigDeviceCount(nint device, out uint count) => DeviceValue("nvmlDeviceGetMaxMigDeviceCount", device, out count);

    public NvmlStatus DeviceGetMigDeviceHandleByIndex(nint device, uint index, out nint migDevice)
    {
        fixed (nint* value = &migDevice)
        {
            return Invoke("nvmlDeviceGetMigDeviceHandleByIndex", device, index, value);
        }
    }

    public NvmlStatus DeviceGetGpuInstanceId(nint device, out uint id) => DeviceValue("nvmlDeviceGetGpuInstanceId", device, out id);

    public NvmlStatus DeviceGetComputeInstanceId(nint device, out uint id) => DeviceValue("nvmlDeviceGetComputeInstanceId", device, out id);

    public NvmlStatus EventSetCreate(out nint eventSet)
    {
        fixed (nint* value = &eventSet)
        {
            return Invoke("nvmlEventSetCreate", value);
        }
    }

    public NvmlStatus DeviceGetSupportedEventTypes(nint device, out ulong types) => DeviceValue("nvmlDeviceGetSupportedEventTypes", device, out types);

    public NvmlStatus DeviceRegisterEvents(nint device, ulong types, nint eventSet)
    {
        const string name = "nvmlDeviceRegisterEvents";
        var fn = (delegate* unmanaged<nint, ulong, nint, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(device, types, eventSet), name);
    }

    /// <summary>Blocks up to <paramref name="timeoutMilliseconds"/> for the next event; <see cref="NvmlReturn.Timeout"/> when none came.</summary>
    public NvmlStatus EventSetWait(nint eventSet, out NvmlEventData data, uint timeoutMilliseconds)
    {
        const string name = "nvmlEventSetWait_v2";
        data = default;
        var fn = (delegate* unmanaged<nint, NvmlEventData*, uint, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (NvmlEventData* value = &data)
        {
            return new(fn(eventSet, value, timeoutMilliseconds), name);
        }
    }

    public NvmlStatus EventSetFree(nint eventSet)
    {
        const string name = "nvmlEventSetFree";
        var fn = (delegate* unmanaged<nint, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(eventSet), name);
    }

    /// <summary>The PCIe generation the link runs at now (it can drop while the GPU idles).</summary>
    public NvmlStatus DeviceGetCurrPcieLinkGeneration(nint device, out uint generation) => DeviceValue("nvmlDeviceGetCurrPcieLinkGeneration", device, out generation);

    /// <summary>The highest PCIe generation the GPU and the system together support.</summary>
    public NvmlStatus DeviceGetMaxPcieLinkGeneration(nint device, out uint generation) => DeviceValue("nvmlDeviceGetMaxPcieLinkGeneration", device, out generation);

    public NvmlStatus DeviceGetCurrPcieLinkWidth(nint device, out uint lanes) => DeviceValue("nvmlDeviceGetCurrPcieLinkWidth", device, out lanes);

    public NvmlStatus DeviceGetMaxPcieLinkWidth(nint device, out uint lanes) => DeviceValue("nvmlDeviceGetMaxPcieLinkWidth", device, out lanes);

    /// <summary>Remapped rows with the two flags <see cref="DeviceGetRemappedRows"/> leaves out: a remapping waits for a GPU reset, a remapping failed.</summary>
    public NvmlStatus DeviceGetRemappedRowsState(nint device, out NvmlRemappedRows rows)
    {
        const string name = "nvmlDeviceGetRemappedRows";
        rows = default;
        var fn = (delegate* unmanaged<nint, uint*, uint*, uint*, uint*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        uint correctable, uncorrectable, pending, failed;
        var status = new NvmlStatus(fn(device, &correctable, &uncorrectable, &pending, &failed), name);
        if (status.IsSuccess)
        {
            rows = new NvmlRemappedRows(correctable, uncorrectable, pending != 0, failed != 0);
        }

        return status;
    }

    /// <summary>Whether pages retired for ECC errors wait for the driver to reload (<c>nvmlEnableState_t</c>: 1 pending).</summary>
    public NvmlStatus DeviceGetRetiredPagesPendingStatus(nint device, out bool pending)
    {
        var status = DeviceValue("nvmlDeviceGetRetiredPagesPendingStatus", device, out int state);
        pending = state != 0;
        return status;
    }

    /// <summary>
    /// Why the clocks are below their maximum now (<see cref="NvmlClockEventReasons"/>): the clocks-event getter of
    /// newer drivers, else the throttle-reasons getter it replaced, which answers the same bits.
    /// </summary>
    public NvmlStatus DeviceGetCurrentClocksEventReasons(nint device, out ulong reasons)
    {
        var status = DeviceValue("nvmlDeviceGetCurrentClocksEventReasons", device, out reasons);
        return status.Code == NvmlReturn.FunctionNotFound
            ? DeviceValue("nvmlDeviceGetCurrentClocksThrottleReasons", device, out reasons)
            : status;
    }

    private static NvmlStatus Missing(string name) => new(NvmlReturn.FunctionNotFound, name);

    private NvmlStatus Invoke(string name)
    {
        var fn = (delegate* unmanaged<NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(), name);
    }

    private NvmlStatus Invoke(string name, void* result)
    {
        var fn = (delegate* unmanaged<void*, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(result), name);
    }

    private NvmlStatus InvokeIndexed(string name, uint index, void* result)
    {
        var fn = (delegate* unmanaged<uint, void*, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(index, result), name);
    }

    private NvmlStatus Invoke(string name, nint device, void* result)
    {
        var fn = (delegate* unmanaged<nint, void*, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(device, result), name);
    }

    private NvmlStatus Invoke(string name, nint device, uint argument, void* result)
    {
        var fn = (delegate* unmanaged<nint, uint, void*, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(device, argument, result), name);
    }

    private NvmlStatus Invoke(string name, nint device, void* first, void* second)
    {
        var fn = (delegate* unmanaged<nint, void*, void*, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(device, first, second), name);
    }

    private NvmlStatus DeviceValue<T>(string name, nint device, out T value)
        where T : unmanaged
    {
        value = default;
        fixed (T* result = &value)
        {
            return Invoke(name, device, result);
        }
    }

    private NvmlStatus SampledPercent(string name, nint device, out uint percent)
    {
        uint periodMicroseconds;
        fixed (uint* value = &percent)
        {
            return Invoke(name, device, value, &periodMicroseconds);
        }
    }

    private NvmlStatus SystemText(string name, out string text)
    {
        text = string.Empty;
        var fn = (delegate* unmanaged<byte*, uint, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        var buffer = stackalloc byte[VersionBufferSize];
        var status = new NvmlStatus(fn(buffer, VersionBufferSize), name);
        if (status.IsSuccess)
        {
            text = NativeText.Decode(buffer, VersionBufferSize);
        }

        return status;
    }

    private NvmlStatus DeviceText(string name, nint device, out string text)
    {
        text = string.Empty;
        var fn = (delegate* unmanaged<nint, byte*, uint, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        var buffer = stackalloc byte[TextBufferSize];
        var status = new NvmlStatus(fn(device, buffer, TextBufferSize), name);
        if (status.IsSuccess)
        {
            text = NativeText.Decode(buffer, TextBufferSize);
        }

        return status;
    }
}

/// <summary>Device memory in bytes; <see cref="Reserved"/> is null when only the first memory getter answered.</summary>
internal readonly record struct NvmlMemoryReading(ulong Total, ulong Used, ulong Free, ulong? Reserved);

/// <summary><c>nvmlClockType_t</c> values GpuDaemon reads.</summary>
internal enum NvmlClock
{
    Sm = 1,
    Memory = 2,
}

/// <summary><c>nvmlMemoryErrorType_t</c>.</summary>
internal enum NvmlMemoryError
{
    Corrected = 0,
    Uncorrected = 1,
}

/// <summary>What <c>nvmlDeviceGetRemappedRows</c> answers: rows remapped for each error kind, and the two state flags.</summary>
internal readonly record struct NvmlRemappedRows(uint Correctable, uint Uncorrectable, bool Pending, bool Failed);

/// <summary>Bits of <c>nvmlDeviceGetCurrentClocksEventReasons</c> (the same as the older throttle reasons).</summary>
[Flags]
internal enum NvmlClockEventReasons : ulong
{
    None = 0,
    GpuIdle = 0x1,
    ApplicationsClocksSetting = 0x2,
    SwPowerCap = 0x4,
    HwSlowdown = 0x8,
    SyncBoost = 0x10,
    SwThermalSlowdown = 0x20,
    HwThermalSlowdown = 0x40,
    HwPowerBrakeSlowdown = 0x80,
    DisplayClockSetting = 0x100,
}
