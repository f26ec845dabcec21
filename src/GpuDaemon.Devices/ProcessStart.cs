using System.Diagnostics;

namespace GpuDaemon.Devices;

/// <summary>When this process started, read once.</summary>
public static class ProcessStart
{
    private static readonly Lazy<DateTimeOffset> Start = new(() =>
    {
        using var process = Process.GetCurrentProcess();
        return new DateTimeOffset(process.StartTime.ToUniversalTime());
    });

    public static DateTimeOffset Time => Start.Value;
}
