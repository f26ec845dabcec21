using System.Globalization;
using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>Reads a PCI device's NUMA node from sysfs; null when the platform does not say (-1) or the file is absent.</summary>
internal sealed class SysfsNumaReader(IHostFileSystem fileSystem, string sysfsRoot)
{
    public int? Read(string busId)
    {
        if (PciAddress.SysfsName(busId) is not { } device)
        {
            return null;
        }

        var text = fileSystem.ReadAllTextOrNull(Path.Combine(sysfsRoot, "bus", "pci", "devices", device, "numa_node"));
        return int.TryParse(text?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var node) && node >= 0 ? node : null;
    }
}
