namespace GpuDaemon.Nvidia.Cuda;

/// <summary>A launch's grid or block size in three dimensions.</summary>
internal readonly record struct CudaDim3(uint X, uint Y = 1, uint Z = 1);
