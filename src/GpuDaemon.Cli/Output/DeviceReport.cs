using System.Text.Json.Serialization;
using GpuDaemon.Devices;

namespace GpuDaemon.Cli.Output;

/// <summary>What <c>gpudaemon devices</c> reports: inventory, health and a telemetry reading per GPU.</summary>
internal sealed record DeviceReport(string Backend, DriverInfo Driver, IReadOnlyList<GpuReport> Gpus)
{
    public static DeviceReport Collect(IGpuBackend backend)
    {
        var inventory = backend.Inventory;
        var gpus = inventory.Gpus.Select(gpu =>
        {
            var health = backend.ProbeHealth(gpu.Uuid);
            GpuTelemetry? telemetry = null;
            if (health.Healthy)
            {
                try
                {
                    telemetry = backend.ReadTelemetry(gpu.Uuid);
                }
                catch (DeviceBackendException)
                {
                    // A GPU that cannot be read still belongs in the list; its health column says why.
                }
            }

            return new GpuReport(gpu, health, telemetry);
        }).ToList();
        return new DeviceReport(backend.Name, inventory.Driver, gpus);
    }
}

internal sealed record GpuReport(GpuDevice Device, HealthProbe Health, GpuTelemetry? Telemetry);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeviceReport))]
internal sealed partial class DeviceReportJsonContext : JsonSerializerContext;
