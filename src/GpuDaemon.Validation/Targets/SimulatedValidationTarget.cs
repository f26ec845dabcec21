using System.Globalization;
using GpuDaemon.Devices.Simulated;

namespace GpuDaemon.Validation.Targets;

/// <summary>
/// Simulated GPUs as the checks see them: the scenario's driver (missing when <c>driver.loaded</c> is false), a
/// kernel computed on the CPU that a GPU with <c>cuda.kernelWrongData</c> gets wrong, contexts that fail on request,
/// and degradation readings as the scenario states them.
/// </summary>
internal sealed class SimulatedValidationTarget(SimulationScenario scenario, string description) : IValidationTarget
{
    public string Backend => "simulated";

    public string DriverRoot => "(simulated)";

    public KernelModuleState KernelModule() => scenario.Driver.Loaded
        ? new KernelModuleState(true, $"simulated driver {scenario.Driver.Version} ({description})")
        : new KernelModuleState(false, $"the simulated driver is not loaded (driver.loaded is false in {description})");

    public ManagementInfo OpenManagement() => new(
        "(simulated)",
        scenario.Driver.Version,
        null,
        [.. scenario.Gpus.Select((g, i) => new ManagedGpu(i, g.Uuid, g.MinorNumber ?? i))]);

    public DeviceNodeState? DeviceNode(string name) => null;

    public CudaInfo OpenCuda()
    {
        if (!DriverVersion.TryParse(scenario.Driver.CudaVersion, out var version) || version.Parts.Count > 2)
        {
            throw new ValidationStepException($"the simulated CUDA version '{scenario.Driver.CudaVersion}' in {description} is not like 12.4", "fix driver.cudaVersion in the scenario");
        }

        var number = version.Parts[0] * 1000 + (version.Parts.Count > 1 ? version.Parts[1] * 10 : 0);
        return new CudaInfo("(simulated)", number, [.. scenario.Gpus.Select((g, i) => new CudaGpu(i, g.Cuda?.Uuid ?? g.Uuid, g.Model))]);
    }

    public void RunVectorAdd(CudaGpu gpu, uint[] a, uint[] b, uint[] sums)
    {
        var behaviour = scenario.Gpus[gpu.Ordinal].Cuda;
        var failing = string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Ordinal} ({gpu.Uuid}): cannot create a context: cuCtxCreate_v2");
        if (behaviour?.ContextFails == true)
        {
            // With jobs on the GPU the simulated failure is theirs: they hold its memory.
            var held = behaviour.ComputeProcesses > 0;
            throw new ValidationStepException(
                held
                    ? string.Create(CultureInfo.InvariantCulture, $"{failing} returned CUDA_ERROR_OUT_OF_MEMORY (simulated: cuda.contextFails with {behaviour.ComputeProcesses} compute processes)")
                    : $"{failing} failed (simulated: cuda.contextFails)",
                "check the GPU with nvidia-smi and dmesg (Xid errors) on the node; a GPU that keeps failing needs a reset or a reboot")
            {
                MayMeanBusy = held,
            };
        }

        if (behaviour?.ComputeMode == SimulatedComputeModes.Prohibited
            || (behaviour?.ComputeMode == SimulatedComputeModes.ExclusiveProcess && behaviour.ComputeProcesses > 0))
        {
            throw new ValidationStepException(
                $"{failing} returned CUDA_ERROR_DEVICES_UNAVAILABLE (simulated: cuda.computeMode {behaviour.ComputeMode})",
                "the GPU's compute mode lets no other process in while its job runs")
            {
                MayMeanBusy = true,
            };
        }

        for (var i = 0; i < a.Length; i++)
        {
            sums[i] = unchecked(a[i] + b[i]);
        }

        if (behaviour?.KernelWrongData == true)
        {
            for (var i = 0; i < sums.Length; i += 4096)
            {
                sums[i] ^= 1u;
            }
        }
    }

    public GpuDegradation ReadDegradation(ManagedGpu gpu)
    {
        var d = scenario.Gpus[gpu.Index].Degradation;
        if (d is null)
        {
            return new GpuDegradation();
        }

        return new GpuDegradation
        {
            PcieLinkGeneration = d.PcieLinkGeneration,
            PcieLinkGenerationMax = d.PcieLinkGenerationMax,
            PcieLinkWidth = d.PcieLinkWidth,
            PcieLinkWidthMax = d.PcieLinkWidthMax,
            RemappedRowsPending = d.RemappedRowsPending,
            RemappingFailed = d.RemappingFailed,
            VolatileUncorrectedEcc = d.VolatileUncorrectedEcc,
            RetiredPagesPending = d.RetiredPagesPending,
            ClockSlowdownReasons = d.ClockEventReasons,
        };
    }

    public GpuComputeUse ReadComputeUse(ManagedGpu gpu)
    {
        var cuda = scenario.Gpus[gpu.Index].Cuda;
        var exclusive = cuda?.ComputeMode switch
        {
            SimulatedComputeModes.ExclusiveProcess => GpuComputeUse.ExclusiveProcessMode,
            SimulatedComputeModes.Prohibited => GpuComputeUse.ProhibitedMode,
            _ => null,
        };
        return new GpuComputeUse(exclusive, cuda?.ComputeProcesses ?? 0);
    }

    public void Dispose()
    {
    }
}
