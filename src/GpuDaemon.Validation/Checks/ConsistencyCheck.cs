using System.Globalization;

namespace GpuDaemon.Validation.Checks;

/// <summary>NVML and CUDA see the same GPUs, by UUID.</summary>
internal sealed class ConsistencyCheck : IValidationCheck
{
    public string Name => CheckNames.Consistency;

    public ValidationStage Stage => ValidationStage.Consistency;

    public CheckOutcome Run(ValidationContext context)
    {
        var nvml = context.RequireManagement.Gpus.Select(g => g.Uuid).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var cuda = (context.Cuda ?? throw new InvalidOperationException("the CUDA check runs first")).Gpus.Select(g => g.Uuid).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var onlyNvml = nvml.Except(cuda, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        var onlyCuda = cuda.Except(nvml, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        if (onlyNvml.Count == 0 && onlyCuda.Count == 0)
        {
            return CheckOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"NVML and CUDA see the same {nvml.Count} GPUs"));
        }

        var parts = new List<string>();
        if (onlyNvml.Count > 0)
        {
            parts.Add($"only NVML sees {string.Join(", ", onlyNvml)}");
        }

        if (onlyCuda.Count > 0)
        {
            parts.Add($"only CUDA sees {string.Join(", ", onlyCuda)}");
        }

        return CheckOutcome.Fail(
            $"NVML and CUDA disagree about the GPUs: {string.Join("; ", parts)}",
            "check that NVML and libcuda come from the same driver (--driver-root), that CUDA_VISIBLE_DEVICES hides no GPU, and reboot the node after a driver upgrade");
    }
}
