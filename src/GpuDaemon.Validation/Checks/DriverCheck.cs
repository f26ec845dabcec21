using System.Globalization;

namespace GpuDaemon.Validation.Checks;

/// <summary>The kernel module is loaded, NVML loads and starts, and the driver is new enough.</summary>
internal sealed class DriverCheck : IValidationCheck
{
    public const string NotLoadedRemedy =
        "install the driver on the host (give --install-command to have validate run an installer), or, if a driver container installs it, wait for it with --wait";

    public string Name => CheckNames.Driver;

    public ValidationStage Stage => ValidationStage.Driver;

    public CheckOutcome Run(ValidationContext context)
    {
        var module = context.Target.KernelModule();
        if (!module.Loaded)
        {
            return CheckOutcome.Fail($"the NVIDIA kernel module is not loaded: {module.Detail}", NotLoadedRemedy);
        }

        var management = context.Target.OpenManagement();
        context.Management = management;
        if (context.Options.MinDriverVersion is { } minimum)
        {
            if (!DriverVersion.TryParse(management.DriverVersion, out var version))
            {
                return CheckOutcome.Fail($"driver version '{management.DriverVersion}' cannot be compared with --min-driver-version {minimum}", "check the driver with nvidia-smi on the node");
            }

            if (version.IsBelow(minimum))
            {
                return CheckOutcome.Fail(
                    $"driver {management.DriverVersion} is older than --min-driver-version {minimum}",
                    "upgrade the driver on the node (an --install-command runs for a driver that is too old just as for a missing one), or lower --min-driver-version");
            }
        }

        return CheckOutcome.Ok(string.Create(CultureInfo.InvariantCulture,
            $"driver {management.DriverVersion}, {management.Gpus.Count} GPUs, NVML from {management.LibraryPath}"));
    }
}
