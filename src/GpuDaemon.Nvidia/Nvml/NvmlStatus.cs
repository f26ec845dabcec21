namespace GpuDaemon.Nvidia.Nvml;

/// <summary>What one NVML call answered, and which call it was.</summary>
internal readonly record struct NvmlStatus(NvmlReturn Code, string Function)
{
    public bool IsSuccess => Code == NvmlReturn.Success;

    public bool IsUnsupported => Code.IsUnsupported();

    public bool IsLost => Code == NvmlReturn.GpuIsLost;
}
