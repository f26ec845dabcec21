namespace GpuDaemon.Validation.Gate;

/// <summary>Whether serve waits for <c>gpudaemon validate</c>'s status files before it advertises GPUs, and where they are.</summary>
public sealed record ValidationGateOptions
{
    /// <summary><c>--require-validation</c>: advertise no GPU until driver-ready and cuda-ready exist and match the driver in use.</summary>
    public bool Required { get; init; }

    public string ValidationDir { get; init; } = ValidationDefaults.Directory;

    /// <summary>How often the status files are re-read when no change notification comes.</summary>
    public TimeSpan PollInterval { get; init; } = ValidationDefaults.GatePollInterval;
}

/// <summary>One status file as the gate last read it.</summary>
/// <param name="Name">driver-ready or cuda-ready.</param>
/// <param name="Ready">It exists and matches the driver the backend sees.</param>
/// <param name="Detail">Why it is or is not ready, as one line.</param>
/// <param name="Values">Its KEY=value lines; empty when it does not exist.</param>
public sealed record ValidationFileStatus(string Name, bool Ready, string Detail, IReadOnlyDictionary<string, string> Values);

/// <summary>The gate's state: open or not, why, and each status file.</summary>
public sealed record ValidationGateState(bool IsOpen, string Reason, IReadOnlyList<ValidationFileStatus> Files)
{
    public static readonly ValidationGateState NotChecked = new(false, "the status files have not been read yet", []);
}
