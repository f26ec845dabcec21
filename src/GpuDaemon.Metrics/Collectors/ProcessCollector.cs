using System.Diagnostics;
using System.Globalization;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>The conventional <c>process_*</c> series, read from the runtime and <c>/proc/self</c>.</summary>
internal sealed class ProcessCollector : IMetricsCollector
{
    private readonly double _startTimeSeconds;
    private readonly long? _maxFds;

    public ProcessCollector()
    {
        using var process = Process.GetCurrentProcess();
        _startTimeSeconds = new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
        _maxFds = ReadMaxFds();
    }

    public string Name => "process";

    public void Collect(MetricsBuilder metrics)
    {
        metrics.Counter("process_cpu_seconds_total", "User and system CPU time the process has used, seconds.", Environment.CpuUsage.TotalTime.TotalSeconds);
        metrics.Gauge("process_resident_memory_bytes", "Resident memory of the process, bytes.", Environment.WorkingSet);
        if (ReadVirtualBytes() is { } virtualBytes)
        {
            metrics.Gauge("process_virtual_memory_bytes", "Virtual memory of the process, bytes.", virtualBytes);
        }

        if (CountOpenFds() is { } open)
        {
            metrics.Gauge("process_open_fds", "Open file descriptors of the process.", open);
        }

        if (_maxFds is { } max)
        {
            metrics.Gauge("process_max_fds", "The most file descriptors the process may open.", max);
        }

        metrics.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, seconds.", _startTimeSeconds);
    }

    private static int? CountOpenFds()
    {
        try
        {
            return Directory.Exists("/proc/self/fd") ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? ReadVirtualBytes()
    {
        try
        {
            // statm's first field: total program size in pages.
            var statm = File.Exists("/proc/self/statm") ? File.ReadAllText("/proc/self/statm") : null;
            var pages = statm?.Split(' ', 2)[0];
            return long.TryParse(pages, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value * Environment.SystemPageSize : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? ReadMaxFds()
    {
        try
        {
            if (!File.Exists("/proc/self/limits"))
            {
                return null;
            }

            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
