using System.Text.Json;

namespace GpuDaemon.Cli.Output;

internal static class DeviceJsonWriter
{
    public static void Write(TextWriter output, DeviceReport report) =>
        output.WriteLine(JsonSerializer.Serialize(report, DeviceReportJsonContext.Default.DeviceReport));
}
