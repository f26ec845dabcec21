namespace GpuDaemon.Devices;

/// <summary>The NVIDIA kernel driver and the CUDA version it supports.</summary>
public sealed record DriverInfo(string Version, string CudaVersion, bool Loaded)
{
    public static readonly DriverInfo NotLoaded = new(string.Empty, string.Empty, false);
}
