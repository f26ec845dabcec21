namespace GpuDaemon.Nvidia.Loading;

/// <summary>One of the driver's user-space libraries GpuDaemon loads: its file name and what to call it in messages.</summary>
internal sealed record NvidiaLibrary(string FileName, string Title)
{
    /// <summary>The NVIDIA Management Library: inventory, telemetry and health events.</summary>
    public static readonly NvidiaLibrary Nvml = new("libnvidia-ml.so.1", "NVML");

    /// <summary>The CUDA driver API: contexts, modules, memory and kernel launches.</summary>
    public static readonly NvidiaLibrary Cuda = new("libcuda.so.1", "the CUDA driver");
}
