namespace GpuDaemon.Validation.Targets;

/// <summary>
/// The seam the checks run against: the driver's real libraries and the host's files, or a simulation scenario.
/// A target is opened for one run and disposed after it, so the next run sees the node afresh. A step that cannot
/// be done throws <see cref="ValidationStepException"/> with what failed and what to try.
/// </summary>
internal interface IValidationTarget : IDisposable
{
    /// <summary>"nvml" or "simulated".</summary>
    string Backend { get; }

    /// <summary>The driver root the libraries come from, as the status files record it.</summary>
    string DriverRoot { get; }

    /// <summary>Whether the NVIDIA kernel module is loaded, and the evidence either way.</summary>
    KernelModuleState KernelModule();

    /// <summary>Loads NVML, initialises it and lists the GPUs.</summary>
    ManagementInfo OpenManagement();

    /// <summary>Whether a device node exists; null when the target has no device files (simulated GPUs).</summary>
    DeviceNodeState? DeviceNode(string name);

    /// <summary>Loads the CUDA driver, initialises it and lists the GPUs it sees.</summary>
    CudaInfo OpenCuda();

    /// <summary>Runs the vector-add kernel on one GPU: <paramref name="sums"/>[i] = a[i] + b[i], as the GPU computed it.</summary>
    void RunVectorAdd(CudaGpu gpu, uint[] a, uint[] b, uint[] sums);

    /// <summary>Signs of degradation on one GPU; a value the GPU does not report is null.</summary>
    GpuDegradation ReadDegradation(ManagedGpu gpu);

    /// <summary>Whether jobs hold the GPU: its compute mode and its running compute processes, as far as they are reported.</summary>
    GpuComputeUse ReadComputeUse(ManagedGpu gpu);
}

internal sealed record KernelModuleState(bool Loaded, string Detail);

internal sealed record ManagementInfo(string LibraryPath, string DriverVersion, string? NvmlVersion, IReadOnlyList<ManagedGpu> Gpus);

/// <summary>A GPU as NVML lists it; <see cref="Handle"/> is the target's own.</summary>
internal sealed record ManagedGpu(int Index, string Uuid, int Minor, nint Handle = 0);

internal sealed record DeviceNodeState(bool Exists, string Path);

internal sealed record CudaInfo(string LibraryPath, int Version, IReadOnlyList<CudaGpu> Gpus)
{
    public string VersionText => DriverVersion.FromCudaNumber(Version).ToString();
}

internal sealed record CudaGpu(int Ordinal, string Uuid, string Name);

/// <summary>Degradation readings of one GPU; null means "not reported".</summary>
internal sealed record GpuDegradation
{
    public int? PcieLinkGeneration { get; init; }

    public int? PcieLinkGenerationMax { get; init; }

    public int? PcieLinkWidth { get; init; }

    public int? PcieLinkWidthMax { get; init; }

    public bool? RemappedRowsPending { get; init; }

    public bool? RemappingFailed { get; init; }

    public long? VolatileUncorrectedEcc { get; init; }

    public bool? RetiredPagesPending { get; init; }

    /// <summary>Active slowdown reasons by name (hwSlowdown, hwThermalSlowdown, ...); null when not reported.</summary>
    public IReadOnlyList<string>? ClockSlowdownReasons { get; init; }

    /// <summary>Readings that failed for a reason other than "not supported", each under the degradation check it feeds.</summary>
    public IReadOnlyList<ReadingProblem> Problems { get; init; } = [];
}

/// <summary>A degradation reading that could not be taken: the check it feeds (<see cref="DegradationChecks"/>) and why.</summary>
internal sealed record ReadingProblem(string Check, string Detail);

/// <summary>
/// Who uses a GPU for compute: <see cref="ExclusiveMode"/> names a compute mode that lets no second process in
/// (<c>exclusive-process</c>, <c>prohibited</c>), null otherwise; <see cref="Processes"/> is null when not reported.
/// </summary>
internal sealed record GpuComputeUse(string? ExclusiveMode, int? Processes)
{
    /// <summary>The compute modes' names in the busy detail (and in docs/validate.md's example).</summary>
    public const string ExclusiveProcessMode = "exclusive-process";

    public const string ExclusiveThreadMode = "exclusive-thread";

    public const string ProhibitedMode = "prohibited";

    /// <summary>A job holds the GPU, or its mode keeps the validator out.</summary>
    public bool IsBusy => ExclusiveMode is not null || Processes > 0;

    /// <summary>Why it is busy, e.g. "2 compute processes, exclusive-process mode".</summary>
    public string Describe()
    {
        var parts = new List<string>(2);
        if (Processes > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Processes} compute {(Processes == 1 ? "process" : "processes")}"));
        }

        if (ExclusiveMode is not null)
        {
            parts.Add($"{ExclusiveMode} mode");
        }

        return string.Join(", ", parts);
    }
}

/// <summary>A step of a check that could not be done: the one-line detail and what to try.</summary>
internal sealed class ValidationStepException : Exception
{
    public ValidationStepException()
    {
        Remedy = string.Empty;
    }

    public ValidationStepException(string message)
        : base(message)
    {
        Remedy = string.Empty;
    }

    public ValidationStepException(string message, Exception innerException)
        : base(message, innerException)
    {
        Remedy = string.Empty;
    }

    public ValidationStepException(string message, string? remedy, Exception? innerException = null)
        : base(message, innerException)
    {
        Remedy = remedy ?? string.Empty;
    }

    /// <summary>What to try; empty when the message already says it.</summary>
    public string Remedy { get; }

    /// <summary>
    /// The step failed the way a GPU held by another process fails (out of memory, or no context allowed while
    /// creating a context or allocating), so the GPU may be busy rather than broken.
    /// </summary>
    public bool MayMeanBusy { get; init; }

    /// <summary>Trying again in this process cannot help (the CUDA driver keeps a failed <c>cuInit</c> for the life of the process).</summary>
    public bool NeedsNewProcess { get; init; }
}
