namespace GpuDaemon.NodeLabels;

/// <summary>Every key the calculator writes, spelled as NVIDIA's GPU Feature Discovery spells it, so existing nodeSelectors keep working.</summary>
internal static class NodeLabelKeys
{
    public const string GpuPresent = "nvidia.com/gpu.present";
    public const string GpuProduct = "nvidia.com/gpu.product";
    public const string GpuCount = "nvidia.com/gpu.count";
    public const string GpuMemory = "nvidia.com/gpu.memory";
    public const string GpuFamily = "nvidia.com/gpu.family";
    public const string GpuComputeMajor = "nvidia.com/gpu.compute.major";
    public const string GpuComputeMinor = "nvidia.com/gpu.compute.minor";
    public const string GpuReplicas = "nvidia.com/gpu.replicas";
    public const string GpuSharingStrategy = "nvidia.com/gpu.sharing-strategy";
    public const string DriverMajor = "nvidia.com/cuda.driver-version.major";
    public const string DriverMinor = "nvidia.com/cuda.driver-version.minor";
    public const string DriverRevision = "nvidia.com/cuda.driver-version.revision";
    public const string DriverFull = "nvidia.com/cuda.driver-version.full";
    public const string RuntimeMajor = "nvidia.com/cuda.runtime-version.major";
    public const string RuntimeMinor = "nvidia.com/cuda.runtime-version.minor";
    public const string RuntimeFull = "nvidia.com/cuda.runtime-version.full";
    public const string MigCapable = "nvidia.com/mig.capable";
    public const string MigStrategy = "nvidia.com/mig.strategy";
    public const string Validated = "gpudaemon.io/validated";

    // GFD's older spellings, which it still writes and many nodeSelectors still use: cuda.driver.* is the kernel
    // driver's version (as cuda.driver-version.*), cuda.runtime.* the CUDA driver API's (as cuda.runtime-version.*).
    public const string LegacyDriverMajor = "nvidia.com/cuda.driver.major";
    public const string LegacyDriverMinor = "nvidia.com/cuda.driver.minor";
    public const string LegacyDriverRevision = "nvidia.com/cuda.driver.rev";
    public const string LegacyRuntimeMajor = "nvidia.com/cuda.runtime.major";
    public const string LegacyRuntimeMinor = "nvidia.com/cuda.runtime.minor";

    /// <summary>mig-strategy mixed: <c>nvidia.com/mig-&lt;profile&gt;.</c> followed by one of <see cref="MigProfileSuffixes"/>.</summary>
    public const string MigProfilePrefix = "nvidia.com/mig-";

    public static readonly IReadOnlyList<string> MigProfileSuffixes = ["product", "count", "replicas", "memory"];

    public static readonly IReadOnlyList<string> Fixed =
    [
        GpuPresent, GpuProduct, GpuCount, GpuMemory, GpuFamily, GpuComputeMajor, GpuComputeMinor, GpuReplicas, GpuSharingStrategy,
        DriverMajor, DriverMinor, DriverRevision, DriverFull, RuntimeMajor, RuntimeMinor, RuntimeFull, MigCapable, MigStrategy, Validated,
        LegacyDriverMajor, LegacyDriverMinor, LegacyDriverRevision, LegacyRuntimeMajor, LegacyRuntimeMinor,
    ];

    /// <summary>Whether the calculator can write <paramref name="key"/>: a fixed key, or a mixed-strategy MIG profile key such as <c>nvidia.com/mig-1g.10gb.count</c>.</summary>
    public static bool IsKnown(string key) =>
        Fixed.Contains(key, StringComparer.Ordinal)
        || (key.StartsWith(MigProfilePrefix, StringComparison.Ordinal)
            && MigProfileSuffixes.Any(s => key.EndsWith("." + s, StringComparison.Ordinal) && key.Length > MigProfilePrefix.Length + s.Length + 1));
}
