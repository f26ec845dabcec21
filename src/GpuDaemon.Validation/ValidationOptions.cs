using GpuDaemon.Devices;

namespace GpuDaemon.Validation;

/// <summary>What <c>gpudaemon validate</c> checks and how; bound from flags, environment and config file by the command line.</summary>
public sealed record ValidationOptions
{
    public string HostRoot { get; init; } = ValidationDefaults.HostRoot;

    /// <summary>The host's root as seen here; device nodes are looked for under its <c>dev/</c> (the device plugin's <c>--dev-root</c>).</summary>
    public string DevRoot { get; init; } = HostRoots.Default;

    public string DriverRoot { get; init; } = HostRoots.Default;

    public DriverVersion? MinDriverVersion { get; init; }

    public DriverVersion? MinCudaVersion { get; init; }

    /// <summary>Every degradation check fails instead of warning.</summary>
    public bool Strict { get; init; }

    /// <summary>Degradation checks (<see cref="DegradationChecks"/>) that fail instead of warning.</summary>
    public IReadOnlySet<string> StrictChecks { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Run through <c>/bin/sh -c</c> when the driver check fails; null: never install.</summary>
    public string? InstallCommand { get; init; }

    public TimeSpan InstallTimeout { get; init; } = ValidationDefaults.InstallTimeout;

    /// <summary>The shell <see cref="InstallCommand"/> runs through; not a flag (tests point it elsewhere).</summary>
    public string InstallShell { get; init; } = ValidationDefaults.InstallShell;

    public string ValidationDir { get; init; } = ValidationDefaults.Directory;

    public bool Wait { get; init; }

    public TimeSpan WaitTimeout { get; init; } = ValidationDefaults.WaitTimeout;

    public TimeSpan FirstRetryDelay { get; init; } = ValidationDefaults.FirstRetryDelay;

    public TimeSpan MaxRetryDelay { get; init; } = ValidationDefaults.MaxRetryDelay;

    public int KernelElements { get; init; } = ValidationDefaults.KernelElements;

    /// <summary>How long to wait for another validator's install lock.</summary>
    public TimeSpan LockWait => InstallTimeout + ValidationDefaults.LockWaitMargin;

    public bool IsStrict(string check) => Strict || StrictChecks.Contains(check);
}
