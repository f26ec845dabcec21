namespace GpuDaemon.Cli;

internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Something failed at run time: a device, a file, a peer.</summary>
    public const int Failure = 1;

    /// <summary>Bad flags, settings or config file.</summary>
    public const int Usage = 2;

    /// <summary>validate: the driver check failed (kernel module, NVML library, NVML start, or driver version).</summary>
    public const int DriverFailed = 10;

    /// <summary>validate: a device node is missing.</summary>
    public const int DeviceNodesFailed = 11;

    /// <summary>validate: the CUDA check failed (libcuda, cuInit, CUDA version, a context, or a kernel that computed wrong sums).</summary>
    public const int CudaFailed = 12;

    /// <summary>validate: NVML and CUDA see different GPUs.</summary>
    public const int ConsistencyFailed = 13;

    /// <summary>validate: a degradation check failed (with --strict or --strict-checks).</summary>
    public const int DegradationFailed = 14;

    /// <summary>validate: the install command failed.</summary>
    public const int InstallFailed = 15;

    /// <summary>validate: the install command ran past --install-timeout (or another validator held the install lock too long).</summary>
    public const int InstallTimedOut = 16;

    /// <summary>validate --wait: still not ready when --timeout ran out.</summary>
    public const int WaitTimedOut = 17;
}
