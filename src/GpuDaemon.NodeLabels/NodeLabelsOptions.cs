namespace GpuDaemon.NodeLabels;

/// <summary>Where serve writes its node-label file for Node Feature Discovery. Immutable; a reload makes a new one.</summary>
public sealed record NodeLabelsOptions
{
    /// <summary>Node Feature Discovery's local-source folder: NFD turns every file in it into node labels.</summary>
    public const string DefaultDirectory = "/etc/kubernetes/node-feature-discovery/features.d";

    /// <summary>The one file GpuDaemon writes in <see cref="Directory"/>.</summary>
    public const string FileName = "gpudaemon";

    /// <summary>The file is written here first and renamed over <see cref="FileName"/>; NFD skips dot-files.</summary>
    public const string TemporaryFileName = ".gpudaemon.tmp";

    /// <summary>At most this many labels are written (GPU labels are about twenty-five, plus four per MIG profile); the rest are dropped with a warning.</summary>
    public const int MaxLabels = 100;

    /// <summary>First wait before a failed write is tried again; it doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>The folder; empty turns node labels off.</summary>
    public string Directory { get; init; } = DefaultDirectory;

    public bool Enabled => Directory.Length > 0;

    public string FilePath => Path.Combine(Directory, FileName);
}
