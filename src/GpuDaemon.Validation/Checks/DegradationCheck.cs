using System.Globalization;
using GpuDaemon.Validation.Targets;

namespace GpuDaemon.Validation.Checks;

/// <summary>
/// One sign of a GPU that works but is degraded, looked at on every GPU. It warns, or fails when the check is strict
/// (<c>--strict</c>, or named in <c>--strict-checks</c>). A reading a GPU does not report is no finding; a reading
/// NVML failed to take for another reason (an error, a lost GPU) warns the same way, since a hidden fault may be there.
/// </summary>
internal sealed class DegradationCheck(string name, string healthy, string remedy, Func<GpuDegradation, bool> reported, Func<GpuDegradation, string?> finding) : IValidationCheck
{
    private const string UnreadableRemedy =
        "NVML could not read it for a reason other than \"not supported\": check the GPU with nvidia-smi -q and dmesg (Xid errors) on the node";

    public string Name => name;

    public ValidationStage Stage => ValidationStage.Degradation;

    public static IReadOnlyList<DegradationCheck> All { get; } =
    [
        new(DegradationChecks.PcieLink, "every GPU's PCIe link runs at its maximum generation and width",
            "reseat the GPU or its riser, check the slot's BIOS settings, and compare with lspci -vv (LnkSta against LnkCap); an idle GPU may lower its link generation, so check again under load",
            d => d.PcieLinkWidth is not null || d.PcieLinkGeneration is not null,
            d =>
            {
                var below = new List<string>();
                if (d.PcieLinkWidth < d.PcieLinkWidthMax)
                {
                    below.Add(string.Create(CultureInfo.InvariantCulture, $"width x{d.PcieLinkWidth} of x{d.PcieLinkWidthMax}"));
                }

                if (d.PcieLinkGeneration < d.PcieLinkGenerationMax)
                {
                    below.Add(string.Create(CultureInfo.InvariantCulture, $"gen {d.PcieLinkGeneration} of {d.PcieLinkGenerationMax}"));
                }

                return below.Count > 0 ? "PCIe link " + string.Join(", ", below) : null;
            }),
        new(DegradationChecks.RowRemapping, "no row remapping is pending or has failed",
            "a pending remapping takes effect at the next GPU reset (nvidia-smi -r) or reboot; a failed remapping means the GPU needs repair",
            d => d.RemappedRowsPending is not null || d.RemappingFailed is not null,
            d => d.RemappingFailed == true ? "a row remapping failed" : d.RemappedRowsPending == true ? "row remapping pending (needs a GPU reset)" : null),
        new(DegradationChecks.UncorrectedEcc, "no uncorrected ECC errors since the driver loaded",
            "uncorrected ECC errors can corrupt jobs: drain the GPU, check dmesg for Xid 48/63/64, and reset it",
            d => d.VolatileUncorrectedEcc is not null,
            d => d.VolatileUncorrectedEcc > 0 ? string.Create(CultureInfo.InvariantCulture, $"{d.VolatileUncorrectedEcc} uncorrected ECC errors since the driver loaded") : null),
        new(DegradationChecks.RetiredPages, "no retired pages wait for a driver reload",
            "retired pages take effect when the driver reloads: reset the GPU or reboot the node",
            d => d.RetiredPagesPending is not null,
            d => d.RetiredPagesPending == true ? "retired pages pending (needs a driver reload)" : null),
        new(DegradationChecks.ClockSlowdown, "no GPU's clocks are held down by a hardware slowdown or heat",
            "check cooling, fans and power supply (nvidia-smi -q -d PERFORMANCE shows the reasons)",
            d => d.ClockSlowdownReasons is not null,
            d => d.ClockSlowdownReasons is { Count: > 0 } reasons ? "clocks slowed: " + string.Join(", ", reasons) : null),
    ];

    public CheckOutcome Run(ValidationContext context)
    {
        var readings = context.Degradation;
        var findings = new List<string>();
        var unreadable = new List<string>();
        var reporting = 0;
        foreach (var gpu in context.RequireManagement.Gpus)
        {
            var reading = readings[gpu.Index];
            if (reported(reading))
            {
                reporting++;
            }

            if (finding(reading) is { } found)
            {
                findings.Add(string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Index} ({gpu.Uuid}): {found}"));
            }

            foreach (var problem in reading.Problems.Where(p => p.Check == name))
            {
                unreadable.Add(string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Index} ({gpu.Uuid}): cannot read it: {problem.Detail}"));
            }
        }

        if (findings.Count > 0 || unreadable.Count > 0)
        {
            var result = context.Options.IsStrict(name) ? CheckResult.Fail : CheckResult.Warn;
            return new CheckOutcome(result, string.Join("; ", findings.Concat(unreadable)), findings.Count > 0 ? remedy : UnreadableRemedy);
        }

        return reporting == 0
            ? CheckOutcome.Ok("not reported by these GPUs")
            : CheckOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"{healthy} ({reporting} GPUs report it)"));
    }
}
