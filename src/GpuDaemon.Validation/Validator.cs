using System.Globalization;
using GpuDaemon.Devices;
using GpuDaemon.Validation.Checks;
using GpuDaemon.Validation.Install;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Validation;

/// <summary>
/// <c>gpudaemon validate</c>: removes stale status files, runs the checks, installs the driver when told how and the
/// driver check fails (once, under the install lock, then checks again), retries with capped backoff under
/// <see cref="ValidationOptions.Wait"/>, and writes the status files when everything passed.
/// </summary>
public sealed class Validator(ValidationOptions options, ValidationSource source, TimeProvider timeProvider, ILogger logger)
{
    private readonly ValidationRun _run = new(options, timeProvider, logger);

    /// <summary>Runs the checks once and touches no file.</summary>
    public ValidationReport Check() => _run.Execute(source);

    public async Task<ValidationOutcome> RunAsync(Action<WaitingNotice>? onWaiting, CancellationToken cancellationToken)
    {
        ValidationDirectory.EnsureWritable(options.ValidationDir);
        foreach (var stale in ValidationDirectory.Guard(options.ValidationDir, () => StatusFiles.RemoveAll(options.ValidationDir)))
        {
            Log.StaleRemoved(logger, stale);
        }

        var started = timeProvider.GetTimestamp();
        var delay = options.FirstRetryDelay;
        var installed = false;
        for (var attempt = 1; ; attempt++)
        {
            var report = Check();
            if (report.DriverFailed && options.InstallCommand is { } command && !installed)
            {
                installed = true;
                var (afterInstall, failed) = await InstallAsync(command, report, cancellationToken);
                if (failed is { } verdict)
                {
                    return Finish(afterInstall, verdict);
                }

                report = afterInstall;
            }

            if (report.Passed || !options.Wait || report.FirstFailure?.NeedsNewProcess == true)
            {
                return Finish(report, VerdictOf(report));
            }

            var left = options.WaitTimeout - timeProvider.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return Finish(report, ValidationVerdict.WaitTimedOut);
            }

            var pause = delay < left ? delay : left;
            var failure = report.FirstFailure!;
            var line = failure.Line;
            var pauseText = Durations.Format(pause);
            Log.Waiting(logger, attempt, failure.Name, line, pauseText);
            onWaiting?.Invoke(new WaitingNotice(attempt, failure, pause));
            await Task.Delay(pause, timeProvider, cancellationToken);
            delay = Durations.DoubledUpTo(delay, options.MaxRetryDelay);
        }
    }

    /// <summary>Under the install lock: checks again (another validator may have installed), installs if still needed, checks again.</summary>
    private async Task<(ValidationReport Report, ValidationVerdict? Failed)> InstallAsync(string command, ValidationReport before, CancellationToken cancellationToken)
    {
        var waitStarted = timeProvider.GetTimestamp();
        var lockWait = Durations.Format(options.LockWait);
        using var installLock = await ValidationDirectory.GuardAsync(options.ValidationDir, () => InstallLock.AcquireAsync(options.ValidationDir, options.LockWait, timeProvider,
            path => Log.LockBusy(logger, path, lockWait), cancellationToken));
        if (installLock is null)
        {
            var path = Path.Combine(options.ValidationDir, ValidationDefaults.InstallLockFile);
            return (before.With(new CheckReport(CheckNames.Install, ValidationStage.Install, CheckResult.Fail, timeProvider.GetElapsedTime(waitStarted),
                $"another validator held the install lock {path} for longer than {Durations.Format(options.LockWait)}",
                "check for a stuck gpudaemon validate on this node (its installer may hang); the lock goes with the process that holds it")), ValidationVerdict.InstallTimedOut);
        }

        var again = Check();
        if (!again.DriverFailed)
        {
            Log.InstallNotNeeded(logger);
            return (again.With(new CheckReport(CheckNames.Install, ValidationStage.Install, CheckResult.Skipped, timeProvider.GetElapsedTime(waitStarted),
                "not needed: the driver works now (another validator installed it, or it appeared)")), null);
        }

        var result = await new DriverInstaller(command, options.InstallTimeout, timeProvider, logger, options.InstallShell).RunAsync(cancellationToken);
        if (!result.Succeeded)
        {
            var remedy = result.StartProblem is not null
                ? $"--install-command needs {options.InstallShell}, which the default gpudaemon image leaves out: run the validate init container from the {ValidationDefaults.InstallerImage} image (Dockerfile target installer; the deploy/overlays/driver-installer overlay uses it)"
                : result.TimedOut
                ? "the installer ran past --install-timeout: raise the timeout if it was still working, or find where it hangs in the log above"
                : "fix the install command (its output is in the log above) or install the driver by hand";
            return (again.With(new CheckReport(CheckNames.Install, ValidationStage.Install, CheckResult.Fail, result.Duration,
                $"the installer ({Excerpt.Of(command)}) {result.Describe()}", remedy)),
                result.TimedOut ? ValidationVerdict.InstallTimedOut : ValidationVerdict.InstallFailed);
        }

        var after = Check();
        return (after.With(new CheckReport(CheckNames.Install, ValidationStage.Install, CheckResult.Ok, result.Duration,
            $"the installer ({Excerpt.Of(command)}) {result.Describe()}")), null);
    }

    private ValidationOutcome Finish(ValidationReport report, ValidationVerdict verdict)
    {
        foreach (var warning in report.Warnings)
        {
            var warningLine = warning.Line;
            Log.Warned(logger, warning.Name, warningLine);
        }

        if (verdict == ValidationVerdict.Passed)
        {
            var files = ValidationDirectory.Guard(options.ValidationDir, () => StatusFiles.WriteReady(options.ValidationDir, report, timeProvider.GetUtcNow()));
            var written = string.Join(", ", files);
            Log.Passed(logger, written);
            var facts = report.Facts!;
            var warned = report.Warnings.Count();
            var summary = string.Create(CultureInfo.InvariantCulture,
                $"ready: driver {facts.DriverVersion}, CUDA {facts.CudaVersion}, {facts.GpuCount} GPUs{(warned > 0 ? $", {warned} warning{(warned == 1 ? string.Empty : "s")}" : string.Empty)}; wrote {string.Join(" and ", StatusFiles.Names)} in {options.ValidationDir}");
            return new ValidationOutcome(report, verdict, files, summary);
        }

        var failure = report.Checks.LastOrDefault(c => c.Stage == ValidationStage.Install && c.Result == CheckResult.Fail) ?? report.FirstFailure!;
        var failureLine = failure.Line;
        Log.Failed(logger, failure.Name, failureLine);
        var prefix = verdict == ValidationVerdict.WaitTimedOut
            ? $"still not ready after --timeout {Durations.Format(options.WaitTimeout)}; last failure at {failure.Name}"
            : $"not ready: {failure.Name} failed";
        return new ValidationOutcome(report, verdict, [], $"{prefix}: {failure.Line}");
    }

    private static ValidationVerdict VerdictOf(ValidationReport report) => report.FirstFailure?.Stage switch
    {
        null => ValidationVerdict.Passed,
        ValidationStage.Driver => ValidationVerdict.DriverFailed,
        ValidationStage.DeviceNodes => ValidationVerdict.DeviceNodesFailed,
        ValidationStage.Cuda => ValidationVerdict.CudaFailed,
        ValidationStage.Consistency => ValidationVerdict.ConsistencyFailed,
        ValidationStage.Degradation => ValidationVerdict.DegradationFailed,
        _ => ValidationVerdict.InstallFailed,
    };
}
