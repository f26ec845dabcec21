namespace GpuDaemon.Nvidia.Cuda;

/// <summary>One GPU as the CUDA driver sees it. <see cref="Uuid"/> is written as NVML writes it (<c>GPU-…</c>), so the two can be matched.</summary>
internal sealed record CudaDeviceInfo(int Ordinal, string Name, string Uuid, ulong TotalMemoryBytes, int ComputeCapabilityMajor, int ComputeCapabilityMinor)
{
    public string ComputeCapability => $"{ComputeCapabilityMajor}.{ComputeCapabilityMinor}";
}
