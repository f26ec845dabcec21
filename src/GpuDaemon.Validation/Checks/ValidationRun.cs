using GpuDaemon.Devices;
using GpuDaemon.Validation.Targets;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Validation.Checks;

/// <summary>Runs every check once, in order, timing each; after the first failure the rest are skipped.</summary>
internal sealed class ValidationRun(ValidationOptions options, TimeProvider timeProvider, ILogger logger)
{
    private static readonly IReadOnlyList<IValidationCheck> Checks =
        [new DriverCheck(), new DeviceNodeCheck(), new CudaCheck(), new ConsistencyCheck(), .. DegradationCheck.All];

    public ValidationReport Execute(ValidationSource source)
    {
        IValidationTarget target;
        try
        {
            target = source.Open();
        }
        catch (DeviceBackendException ex)
        {
            // A simulation file that cannot be read: the driver stage of a simulated node.
            return new ValidationReport(
                [new CheckReport(CheckNames.Driver, ValidationStage.Driver, CheckResult.Fail, TimeSpan.Zero, ex.Message), .. Checks.Skip(1).Select(Skipped)],
                null);
        }

        using (target)
        {
            return Execute(target);
        }
    }

    internal ValidationReport Execute(IValidationTarget target)
    {
        var context = new ValidationContext(target, options, timeProvider);
        var reports = new List<CheckReport>(Checks.Count);
        foreach (var check in Checks)
        {
            if (reports.Any(r => r.Result == CheckResult.Fail))
            {
                reports.Add(Skipped(check));
                continue;
            }

            var started = timeProvider.GetTimestamp();
            CheckOutcome outcome;
            var needsNewProcess = false;
            try
            {
                outcome = check.Run(context);
            }
            catch (ValidationStepException ex)
            {
                outcome = new CheckOutcome(CheckResult.Fail, ex.Message, ex.Remedy.Length > 0 ? ex.Remedy : null);
                needsNewProcess = ex.NeedsNewProcess;
            }

            var report = new CheckReport(check.Name, check.Stage, outcome.Result, timeProvider.GetElapsedTime(started), outcome.Detail, outcome.Remedy)
            {
                NeedsNewProcess = needsNewProcess,
            };
            var line = report.Line;
            Log.CheckDone(logger, report.Name, report.Result, line);
            reports.Add(report);
        }

        var facts = context.Management is { } management
            ? new ValidatedFacts(target.Backend, management.DriverVersion, context.Cuda?.VersionText, target.DriverRoot, management.Gpus.Count)
            : null;
        return new ValidationReport(reports, facts);
    }

    private static CheckReport Skipped(IValidationCheck check) =>
        new(check.Name, check.Stage, CheckResult.Skipped, TimeSpan.Zero, "not run: an earlier check failed");
}
