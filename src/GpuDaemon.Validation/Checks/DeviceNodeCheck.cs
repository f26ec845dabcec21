using System.Globalization;

namespace GpuDaemon.Validation.Checks;

/// <summary>/dev/nvidiactl, /dev/nvidia-uvm and /dev/nvidiaN for every GPU NVML lists, under the dev root.</summary>
internal sealed class DeviceNodeCheck : IValidationCheck
{
    public string Name => CheckNames.DeviceNodes;

    public ValidationStage Stage => ValidationStage.DeviceNodes;

    public CheckOutcome Run(ValidationContext context)
    {
        var gpus = context.RequireManagement.Gpus;
        IEnumerable<string> names = ["nvidiactl", "nvidia-uvm", .. gpus.Select(g => string.Create(CultureInfo.InvariantCulture, $"nvidia{g.Minor}"))];
        var missing = new List<string>();
        var checkedCount = 0;
        foreach (var name in names)
        {
            if (context.Target.DeviceNode(name) is not { } node)
            {
                return new CheckOutcome(CheckResult.Skipped, "simulated GPUs have no device nodes to check");
            }

            checkedCount++;
            if (!node.Exists)
            {
                missing.Add(node.Path);
            }
        }

        if (missing.Count > 0)
        {
            return CheckOutcome.Fail(
                $"missing device nodes: {string.Join(", ", missing)}",
                "the driver creates them when its modules load (nvidia-modprobe -u -c=0 for nvidia-uvm); in a pod, mount the host's /dev and pass its root as --dev-root, or run with runtimeClassName: nvidia");
        }

        return CheckOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"{checkedCount} device nodes present (nvidiactl, nvidia-uvm and one per GPU)"));
    }
}
