using System.Globalization;
using GpuDaemon.Devices;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>The conventional <c>process_*</c> series, read from the runtime and <c>/proc/self</c>.</summary>
internal sealed class ProcessCollector : IMetricsCollector
{
    private readonly double _startTimeSeconds;
    private readonly long? _maxFds;

    public ProcessCollector()
    {
        _startTimeSeconds = ProcessStart.Time.ToUnixTimeMilliseconds() / 1000.0;
        _maxFds = ReadMaxFds();
    }

    public string Name => "process";

    /// <summary>In-memory counters and verdicts only: never blocks.</summary>
    public bool RunsInline => true;

    public void Collect(MetricsBuilder metrics)
    {
        metrics.Counter("process_cpu_seconds_total", "User and system CPU time the process has used, seconds.", Environment.CpuUsage.TotalTime.TotalSeconds);
        // One read of /proc/self/statm gives both sizes; Environment.WorkingSet builds a Process snapshot (milliseconds).
        if (ReadStatm() is { } statm)
        {
            metrics.Gauge("process_resident_memory_bytes", "Resident memory of the process, bytes.", statm.ResidentBytes);
            metrics.Gauge("process_virtual_memory_bytes", "Virtual memory of the process, bytes.", statm.VirtualBytes);
        }
        else
        {
            metrics.Gauge("process_resident_memory_bytes", "Resident memory of the process, bytes.", Environment.WorkingSet);
        }

        if (OpenFds() is { } open)
        {
            metrics.Gauge("process_open_fds", "Open file descriptors of the process.", open);
        }

        if (_maxFds is { } max)
        {
            metrics.Gauge("process_max_fds", "The most file descriptors the process may open.", max);
        }

        metrics.Gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, seconds.", _startTimeSeconds);
    }

    /// <summary>
    /// Counting <c>/proc/self/fd</c> costs about 8 µs per descriptor (the runtime stats each link), milliseconds on a
    /// busy process; the count is refreshed at most every <see cref="OpenFdsRefresh"/>, so scrapes stay cheap.
    /// </summary>
    public static readonly TimeSpan OpenFdsRefresh = TimeSpan.FromSeconds(10);

    private readonly Lock _fdsGate = new();
    private int? _openFds;
    private long _openFdsCountedAt = long.MinValue;

    private int? OpenFds()
    {
        lock (_fdsGate)
        {
            var now = Environment.TickCount64;
            if (_openFdsCountedAt == long.MinValue || now - _openFdsCountedAt >= (long)OpenFdsRefresh.TotalMilliseconds)
            {
                _openFds = CountOpenFds();
                _openFdsCountedAt = now;
            }

            return _openFds;
        }
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

    /// <summary>/proc/self/statm's first two fields (program size, resident set), in pages, as bytes.</summary>
    private static (long VirtualBytes, long ResidentBytes)? ReadStatm()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ', 3);
            return fields.Length >= 2
                && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var resident)
                ? (size * Environment.SystemPageSize, resident * Environment.SystemPageSize)
                : null;
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
