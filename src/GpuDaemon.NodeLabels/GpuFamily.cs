using GpuDaemon.Devices;

namespace GpuDaemon.NodeLabels;

/// <summary>The architecture name GPU Feature Discovery derives from a compute capability.</summary>
internal static class GpuFamily
{
    public const string Undefined = "undefined";

    public static string Of(ComputeCapability capability) => (capability.Major, capability.Minor) switch
    {
        (1, _) => "tesla",
        (2, _) => "fermi",
        (3, _) => "kepler",
        (5, _) => "maxwell",
        (6, _) => "pascal",
        (7, < 5) => "volta",
        (7, _) => "turing",
        (8, 9) => "ada-lovelace",
        (8, _) => "ampere",
        (9, _) => "hopper",
        (10, _) or (12, _) => "blackwell",
        _ => Undefined,
    };
}
