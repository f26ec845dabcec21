using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>Device IDs from a request, made safe to quote in an error: short, escaped, quoted.</summary>
internal static class RequestText
{
    public static string Quote(string id) => $"\"{Excerpt.Of(id)}\"";
}
