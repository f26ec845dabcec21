namespace GpuDaemon.Validation;

/// <summary>The stages of a validation, in the order they run; each failing one has its own exit code.</summary>
public enum ValidationStage
{
    Driver,
    DeviceNodes,
    Cuda,
    Consistency,
    Degradation,

    /// <summary>The configured driver installer (only when the driver check failed and one is configured).</summary>
    Install,
}

public enum CheckResult
{
    Ok,
    Warn,
    Fail,

    /// <summary>Not run: an earlier check failed, or it does not apply (simulated GPUs have no device files).</summary>
    Skipped,
}

/// <summary>One check's line in the report: what, how it went, how long it took, and for a failure what to try.</summary>
public sealed record CheckReport(string Name, ValidationStage Stage, CheckResult Result, TimeSpan Duration, string Detail, string? Remedy = null)
{
    /// <summary>The detail and, when there is one, what to try, as one line.</summary>
    public string Line => Remedy is null ? Detail : $"{Detail}; {Remedy}";

    /// <summary>A failure that trying again in this process cannot mend; <c>--wait</c> ends on it instead of retrying.</summary>
    public bool NeedsNewProcess { get; init; }
}

/// <summary>What the checks learnt about the node, written to the status files when they pass.</summary>
public sealed record ValidatedFacts(string Backend, string DriverVersion, string? CudaVersion, string DriverRoot, int GpuCount);

/// <summary>One run of every check.</summary>
public sealed record ValidationReport(IReadOnlyList<CheckReport> Checks, ValidatedFacts? Facts)
{
    /// <summary>The first check that failed, or null when none did.</summary>
    public CheckReport? FirstFailure => Checks.FirstOrDefault(c => c.Result == CheckResult.Fail);

    public bool Passed => FirstFailure is null;

    public bool DriverFailed => Checks.Any(c => c.Stage == ValidationStage.Driver && c.Result == CheckResult.Fail);

    public IEnumerable<CheckReport> Warnings => Checks.Where(c => c.Result == CheckResult.Warn);

    public ValidationReport With(CheckReport extra) => this with { Checks = [.. Checks, extra] };
}

/// <summary>How a whole validation (with install and waiting) ended; the command line turns it into an exit code.</summary>
public enum ValidationVerdict
{
    Passed,
    DriverFailed,
    DeviceNodesFailed,
    CudaFailed,
    ConsistencyFailed,
    DegradationFailed,
    InstallFailed,
    InstallTimedOut,
    WaitTimedOut,
}

/// <summary>The last report, how it ended, and the status files written (none unless it passed).</summary>
public sealed record ValidationOutcome(ValidationReport Report, ValidationVerdict Verdict, IReadOnlyList<string> StatusFiles, string Summary);

/// <summary>Said before each pause under <c>--wait</c>: why it is still waiting and when it tries again.</summary>
public sealed record WaitingNotice(int Attempt, CheckReport Failure, TimeSpan NextTryIn);

/// <summary>The names of the degradation checks; <see cref="ValidationOptions.StrictChecks"/> names some of them.</summary>
public static class DegradationChecks
{
    public const string PcieLink = "pcie-link";
    public const string RowRemapping = "row-remapping";
    public const string UncorrectedEcc = "ecc-uncorrected";
    public const string RetiredPages = "retired-pages";
    public const string ClockSlowdown = "clock-slowdown";

    public static readonly IReadOnlyList<string> All = [PcieLink, RowRemapping, UncorrectedEcc, RetiredPages, ClockSlowdown];
}

/// <summary>The names of the other checks, as the report and the status files show them.</summary>
public static class CheckNames
{
    public const string Driver = "driver";
    public const string DeviceNodes = "device-nodes";
    public const string Cuda = "cuda";
    public const string Consistency = "consistency";
    public const string Install = "install";
}
