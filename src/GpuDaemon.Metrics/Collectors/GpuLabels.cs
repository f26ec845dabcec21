using System.Globalization;
using GpuDaemon.Devices;
using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>The labels dcgm-exporter puts on every GPU series, spelled as it spells them.</summary>
internal static class GpuLabels
{
    public static Label[] For(GpuDevice gpu, DriverInfo driver, string hostnameLabel, string node, MigInstance? mig = null)
    {
        List<Label> labels =
        [
            new("gpu", gpu.Index.ToString(CultureInfo.InvariantCulture)),
            new("UUID", gpu.Uuid),
            new("pci_bus_id", gpu.PciBusId),
            new("device", "nvidia" + gpu.MinorNumber.ToString(CultureInfo.InvariantCulture)),
            new("modelName", gpu.Model),
        ];
        if (mig is not null)
        {
            labels.Add(new("GPU_I_PROFILE", mig.Profile));
            labels.Add(new("GPU_I_ID", mig.GpuInstanceId.ToString(CultureInfo.InvariantCulture)));
        }

        labels.Add(new(hostnameLabel, node));
        labels.Add(new("DCGM_FI_DRIVER_VERSION", driver.Version));
        return [.. labels];
    }

    /// <summary>The host label's value: <c>NODE_NAME</c> (the downward API's node name) else the host name.</summary>
    public static string NodeName(MetricsOptions options) =>
        options.NodeName
        ?? (Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } node ? node : Environment.MachineName);
}
