using GpuDaemon.Validation.Targets;

namespace GpuDaemon.Validation.Checks;

/// <summary>One named check. It throws <see cref="ValidationStepException"/> or returns a failing outcome when it fails.</summary>
internal interface IValidationCheck
{
    string Name { get; }

    ValidationStage Stage { get; }

    CheckOutcome Run(ValidationContext context);
}

internal sealed record CheckOutcome(CheckResult Result, string Detail, string? Remedy = null)
{
    public static CheckOutcome Ok(string detail) => new(CheckResult.Ok, detail);

    public static CheckOutcome Fail(string detail, string remedy) => new(CheckResult.Fail, detail, remedy);
}

/// <summary>What one run has learnt so far, handed from check to check.</summary>
internal sealed class ValidationContext(IValidationTarget target, ValidationOptions options, TimeProvider timeProvider)
{
    private Dictionary<int, GpuDegradation>? _degradation;

    public IValidationTarget Target => target;

    public ValidationOptions Options => options;

    public TimeProvider TimeProvider => timeProvider;

    public ManagementInfo? Management { get; set; }

    public CudaInfo? Cuda { get; set; }

    public ManagementInfo RequireManagement => Management ?? throw new InvalidOperationException("the driver check runs first");

    /// <summary>Every GPU's degradation readings, read once for the five degradation checks.</summary>
    public IReadOnlyDictionary<int, GpuDegradation> Degradation =>
        _degradation ??= RequireManagement.Gpus.ToDictionary(g => g.Index, target.ReadDegradation);
}
