using GpuDaemon.Metrics;
using GpuDaemon.Metrics.Exposition;
using GpuDaemon.Validation.Gate;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Cli.Hosting;

/// <summary>
/// The validation gate as the metrics endpoint sees it: a condition of <c>/readyz</c> and the
/// <c>gpudaemon_validation_ready{check}</c> series, one per status file (the two subsystems know nothing of each other).
/// </summary>
internal sealed class ValidationReporting(ValidationGate gate, IOptionsMonitor<ValidationGateOptions> options) : IMetricsCollector, IReadinessCheck
{
    public const string MetricName = "gpudaemon_validation_ready";

    public string Name => "validation";

    public ReadinessResult Check()
    {
        var state = gate.State;
        return new ReadinessResult(state.IsOpen, state.Reason);
    }

    /// <summary>Only with --require-validation: without it nothing waits on the files, and a 0 would alarm for nothing.</summary>
    public void Collect(MetricsBuilder metrics)
    {
        if (!options.CurrentValue.Required)
        {
            return;
        }

        foreach (var file in gate.State.Files)
        {
            metrics.Gauge(MetricName, "1 when gpudaemon validate's status file for the check exists and matches the driver serve sees, else 0.",
                file.Ready ? 1 : 0, new Label("check", CheckName(file.Name)));
        }
    }

    /// <summary><c>driver-ready</c> → <c>driver</c>.</summary>
    private static string CheckName(string statusFile) =>
        statusFile.EndsWith("-ready", StringComparison.Ordinal) ? statusFile[..^"-ready".Length] : statusFile;
}
