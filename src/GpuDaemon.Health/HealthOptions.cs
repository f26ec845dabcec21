using GpuDaemon.Devices;

namespace GpuDaemon.Health;

/// <summary>How GPU health is judged. Immutable; a config reload makes a new one.</summary>
public sealed record HealthOptions
{
    public static readonly IReadOnlyList<int> DefaultIgnoredXids = [13, 31, 43, 45, 68, 109];

    /// <summary>
    /// Below this, probing costs more than it tells, and a sub-millisecond period reads as "no period" to the
    /// platform timer: it fired once and never again, so a healed GPU stayed Unhealthy for good.
    /// </summary>
    public static readonly TimeSpan MinProbeInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A GPU that is not looked at for longer than this is not being watched.</summary>
    public static readonly TimeSpan MaxProbeInterval = TimeSpan.FromHours(1);

    /// <summary>A GPU kept out of service longer than a day after its checks are clean needs a person, not a timer.</summary>
    public static readonly TimeSpan MaxRecoveryPeriod = TimeSpan.FromHours(24);

    /// <summary>Off: every GPU is reported healthy and no probes run.</summary>
    public bool HealthChecks { get; init; } = true;

    /// <summary>Xid codes that do not make a GPU unhealthy (application errors, not hardware faults).</summary>
    public IReadOnlyList<int> IgnoredXids { get; init; } = DefaultIgnoredXids;

    /// <summary>How long a faulted GPU's probes must stay clean before it is healthy again.</summary>
    public TimeSpan RecoveryPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often every GPU's health is probed.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The problem with these options as one user-facing line, or null if they can work.</summary>
    public string? Problem()
    {
        if (ProbeInterval < MinProbeInterval || ProbeInterval > MaxProbeInterval)
        {
            return $"probe-interval {Durations.Format(ProbeInterval)} is out of range: {Durations.Format(MinProbeInterval)} to {Durations.Format(MaxProbeInterval)}";
        }

        if (RecoveryPeriod < TimeSpan.Zero || RecoveryPeriod > MaxRecoveryPeriod)
        {
            return $"recovery-period {Durations.Format(RecoveryPeriod)} is out of range: 0s to {Durations.Format(MaxRecoveryPeriod)}";
        }

        return null;
    }

    public bool Equals(HealthOptions? other) =>
        other is not null
        && HealthChecks == other.HealthChecks
        && RecoveryPeriod == other.RecoveryPeriod
        && ProbeInterval == other.ProbeInterval
        && IgnoredXids.SequenceEqual(other.IgnoredXids);

    public override int GetHashCode() => HashCode.Combine(HealthChecks, RecoveryPeriod, ProbeInterval, IgnoredXids.Count);
}
