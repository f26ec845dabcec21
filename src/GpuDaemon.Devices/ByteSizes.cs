using System.Globalization;

namespace GpuDaemon.Devices;

/// <summary>Sizes written the way the docs state limits: whole MiB or KiB where exact, else bytes.</summary>
public static class ByteSizes
{
    public static string Format(long bytes) => bytes switch
    {
        > 0 when bytes % (1024 * 1024) == 0 => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB",
        > 0 when bytes % 1024 == 0 => (bytes / 1024).ToString(CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
    };
}
