using System.Globalization;
using GpuDaemon.Devices;

namespace GpuDaemon.Cli.Output;

/// <summary>Writes a <see cref="DeviceReport"/> as an aligned table for people.</summary>
internal static class DeviceTableWriter
{
    private static readonly string[] Headers = ["IDX", "UUID", "MODEL", "MEMORY", "PCI BUS ID", "DEVICE", "NUMA", "NVLINK", "MIG", "UTIL", "TEMP", "POWER", "HEALTH"];

    public static void Write(TextWriter output, DeviceReport report)
    {
        var driver = report.Driver.Loaded
            ? $"driver {report.Driver.Version}, CUDA {report.Driver.CudaVersion}"
            : "driver not loaded";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{report.Gpus.Count} GPU(s), {driver}, backend {report.Backend}"));
        if (report.Gpus.Count == 0)
        {
            return;
        }

        output.WriteLine();
        var indexByUuid = report.Gpus.ToDictionary(g => g.Device.Uuid, g => g.Device.Index, StringComparer.Ordinal);
        var rows = new List<string[]> { Headers };
        rows.AddRange(report.Gpus.Select(g => Row(g, indexByUuid)));
        var widths = Enumerable.Range(0, Headers.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            var cells = row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]));
            output.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    private static string[] Row(GpuReport gpu, Dictionary<string, int> indexByUuid)
    {
        var d = gpu.Device;
        var t = gpu.Telemetry;
        var peers = d.NvLinkPeers.Count == 0
            ? "-"
            : string.Join(',', d.NvLinkPeers.Select(p => indexByUuid.TryGetValue(p, out var i) ? i.ToString(CultureInfo.InvariantCulture) : p));
        return
        [
            d.Index.ToString(CultureInfo.InvariantCulture),
            d.Uuid,
            d.Model,
            string.Create(CultureInfo.InvariantCulture, $"{d.MemoryMiB} MiB"),
            d.PciBusId,
            d.DeviceNode,
            d.NumaNode?.ToString(CultureInfo.InvariantCulture) ?? "-",
            peers,
            Mig(d.Mig),
            Format(t?.GpuUtilizationPercent, "%"),
            Format(t?.TemperatureC, "C"),
            Format(t?.PowerWatts, "W"),
            gpu.Health.Healthy ? "Healthy" : $"Unhealthy: {gpu.Health.Reason}",
        ];
    }

    private static string Mig(MigState mig) => mig switch
    {
        { Capable: false } => "-",
        { Enabled: false } => "off",
        _ => string.Join(',', mig.Instances.Select(i => i.Profile)) is { Length: > 0 } profiles ? profiles : "on",
    };

    private static string Format(double? value, string unit) =>
        value is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v:0.#}{unit}") : "-";
}
