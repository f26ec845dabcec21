using System.Globalization;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>PCI addresses as NVML writes them (<c>00000000:18:00.0</c>) and as sysfs names them (<c>0000:18:00.0</c>).</summary>
internal static class PciAddress
{
    /// <summary>NVML's bus id in lower case, so it compares equal however the driver spelled it.</summary>
    public static string Normalize(string busId) => busId.Trim().ToLowerInvariant();

    /// <summary>The sysfs device name for a bus id: a domain of at least four hex digits; null when it is not a bus id.</summary>
    public static string? SysfsName(string busId)
    {
        var colon = busId.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !uint.TryParse(busId.AsSpan(0, colon), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var domain))
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{domain:x4}{Normalize(busId[colon..])}");
    }
}
