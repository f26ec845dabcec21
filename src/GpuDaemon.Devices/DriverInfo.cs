namespace GpuDaemon.Devices;

/// <summary>The NVIDIA kernel driver and the CUDA version it supports.</summary>
public sealed record DriverInfo(string Version, string CudaVersion, bool Loaded)
{
    /// <summary>The management library's own version (NVML's, e.g. <c>12.550.127.05</c>), when the backend has one.</summary>
    public string? NvmlVersion { get; init; }

    public static readonly DriverInfo NotLoaded = new(string.Empty, string.Empty, false);
}
