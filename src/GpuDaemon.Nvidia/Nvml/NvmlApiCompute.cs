namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// Who may and who does run compute work on a GPU: its compute mode (<c>nvmlComputeMode_t</c>) and how many compute
/// processes run on it now. The validator reads them to tell a GPU held by a job from a broken one.
/// </summary>
internal sealed unsafe partial class NvmlApi
{
    /// <summary>The compute mode: <see cref="NvmlComputeMode"/>.</summary>
    public NvmlStatus DeviceGetComputeMode(nint device, out NvmlComputeMode mode)
    {
        var status = DeviceValue("nvmlDeviceGetComputeMode", device, out int value);
        mode = (NvmlComputeMode)value;
        return status;
    }

    /// <summary>
    /// How many compute processes run on the GPU: asks with an empty buffer, which NVML answers with the count (and
    /// INSUFFICIENT_SIZE when it is not zero), so no process record crosses the boundary. Drivers without the
    /// third version of the call are asked through the second, which counts the same way.
    /// </summary>
    public NvmlStatus DeviceGetComputeRunningProcessCount(nint device, out uint count)
    {
        var status = CountProcesses("nvmlDeviceGetComputeRunningProcesses_v3", device, out count);
        return status.Code == NvmlReturn.FunctionNotFound
            ? CountProcesses("nvmlDeviceGetComputeRunningProcesses_v2", device, out count)
            : status;
    }

    private NvmlStatus CountProcesses(string name, nint device, out uint count)
    {
        count = 0;
        var fn = (delegate* unmanaged<nint, uint*, void*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        uint found = 0;
        var code = fn(device, &found, null);
        count = found;
        return new NvmlStatus(code == NvmlReturn.InsufficientSize ? NvmlReturn.Success : code, name);
    }
}

/// <summary><c>nvmlComputeMode_t</c>: who may create CUDA contexts on a GPU.</summary>
internal enum NvmlComputeMode
{
    Default = 0,
    ExclusiveThread = 1,
    Prohibited = 2,
    ExclusiveProcess = 3,
}
