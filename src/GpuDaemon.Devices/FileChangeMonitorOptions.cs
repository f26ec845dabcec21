namespace GpuDaemon.Devices;

/// <summary>How a <see cref="FileChangeMonitor"/> watches its file.</summary>
public sealed record FileChangeMonitorOptions
{
    /// <summary>
    /// The <see cref="MaxBytes"/> default (4 MiB): far above any config or scenario file GpuDaemon reads, low
    /// enough that a wrong path (a log, a device) is refused instead of read whole into memory every poll.
    /// </summary>
    public const long DefaultMaxBytes = 4L * 1024 * 1024;

    /// <summary>How often the file is re-read in case no change notification arrives (some mounts send none).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long new content must stay the same before it is applied, so a writer caught mid-write is not
    /// applied half-done. Zero applies a change as soon as it is read.
    /// </summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.Zero;

    /// <summary>A larger file is not read: a warning is logged and the last content stays in force.</summary>
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>False to rely on the periodic re-read alone (tests that step a manual clock).</summary>
    public bool UseChangeNotifications { get; init; } = true;
}
