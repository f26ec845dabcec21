using GpuDaemon.Devices;
using System.CommandLine;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Health;

namespace GpuDaemon.Cli.Hosting;

/// <summary>The health subsystem's settings: their flags, and how they become <see cref="HealthOptions"/>.</summary>
internal static class HealthFlags
{
    public const string HealthChecks = "health-checks";
    public const string IgnoredXids = "ignored-xids";
    public const string RecoveryPeriod = "recovery-period";
    public const string ProbeInterval = "probe-interval";

    private static readonly HealthOptions Defaults = new();

    public static List<Option> Options() =>
    [
        new Option<bool>("--" + HealthChecks) { Description = "Watch GPU health and advertise faulted GPUs as Unhealthy [default: true]" },
        new Option<string>("--" + IgnoredXids) { Description = $"Xid codes that do not make a GPU unhealthy [default: {string.Join(',', HealthOptions.DefaultIgnoredXids)}]", HelpName = "LIST" },
        new Option<string>("--" + RecoveryPeriod) { Description = $"How long a faulted GPU's checks must stay clean before it is Healthy again, 0s to {Durations.Format(HealthOptions.MaxRecoveryPeriod)} [default: {Durations.Format(Defaults.RecoveryPeriod)}]", HelpName = "DURATION" },
        new Option<string>("--" + ProbeInterval) { Description = $"How often each GPU's health is checked, {Durations.Format(HealthOptions.MinProbeInterval)} to {Durations.Format(HealthOptions.MaxProbeInterval)} [default: {Durations.Format(Defaults.ProbeInterval)}]", HelpName = "DURATION" },
    ];

    public static HealthOptions Bind(DaemonSettings settings)
    {
        var options = new HealthOptions
        {
            HealthChecks = settings.GetBool(HealthChecks, Defaults.HealthChecks),
            IgnoredXids = settings.GetIntList(IgnoredXids) ?? HealthOptions.DefaultIgnoredXids,
            RecoveryPeriod = settings.GetDuration(RecoveryPeriod, Defaults.RecoveryPeriod, TimeSpan.Zero, HealthOptions.MaxRecoveryPeriod),
            ProbeInterval = settings.GetDuration(ProbeInterval, Defaults.ProbeInterval, HealthOptions.MinProbeInterval, HealthOptions.MaxProbeInterval),
        };

        if (options.Problem() is { } problem)
        {
            throw new UsageException(problem);
        }

        return options;
    }
}
