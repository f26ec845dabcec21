namespace GpuDaemon.Validation;

/// <summary>The validator's defaults and file names, defined once: docs and manifests are tested against them.</summary>
public static class ValidationDefaults
{
    /// <summary>Where <c>gpudaemon validate</c> writes its status files and <c>serve --require-validation</c> reads them.</summary>
    public const string Directory = "/run/gpudaemon/validations";

    /// <summary>The driver, its device nodes and NVML work.</summary>
    public const string DriverReadyFile = "driver-ready";

    /// <summary>CUDA runs a kernel correctly on every GPU, NVML and CUDA agree, and no degradation check failed.</summary>
    public const string CudaReadyFile = "cuda-ready";

    /// <summary>The lock file that keeps two validators on a node from installing the driver at once.</summary>
    public const string InstallLockFile = ".install.lock";

    /// <summary>The host's root as this process sees it (kernel module files under proc/ and sys/).</summary>
    public const string HostRoot = GpuDaemon.Devices.HostRoots.Default;

    /// <summary>How long an installer may run before it is killed, with every process it started.</summary>
    public static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(20);

    /// <summary>How long <c>--wait</c> keeps trying before it gives up.</summary>
    public static readonly TimeSpan WaitTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The first pause between tries under <c>--wait</c>; it doubles after each try, up to <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(2);

    /// <summary>The longest pause between tries under <c>--wait</c>.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a validator waits for another validator's install lock beyond <see cref="ValidationOptions.InstallTimeout"/>
    /// (the other one may still be checking before and after its install).
    /// </summary>
    public static readonly TimeSpan LockWaitMargin = TimeSpan.FromMinutes(1);

    /// <summary>Elements of the vector-add kernel per GPU: 1 Mi 32-bit integers, 4 MiB per buffer, 12 MiB per GPU.</summary>
    public const int KernelElements = 1024 * 1024;

    /// <summary>How often <c>serve --require-validation</c> re-reads the status files when no change notification comes.</summary>
    public static readonly TimeSpan GatePollInterval = TimeSpan.FromSeconds(2);

    /// <summary>The largest status file read (64 KiB); a real one is a few hundred bytes.</summary>
    public const int MaxStatusFileBytes = 64 * 1024;

    /// <summary>The shell the install command runs through (<c>-c</c>); the default image has none, its installer variant does.</summary>
    public const string InstallShell = "/bin/sh";

    /// <summary>The image (Dockerfile target <c>installer</c>) that adds <see cref="InstallShell"/> to the binary, for <c>--install-command</c>.</summary>
    public const string InstallerImage = "gpudaemon-installer";

    /// <summary>The longest line of installer output logged (2,000 characters); the rest of a longer line is cut.</summary>
    public const int MaxInstallerLineChars = 2000;
}
