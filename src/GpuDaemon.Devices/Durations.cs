using System.Globalization;

namespace GpuDaemon.Devices;

/// <summary>Durations written the way settings take them back: the largest of h, m, s, ms that states the value exactly.</summary>
public static class Durations
{
    public static string Format(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        return ticks == 0 ? "0s"
            : ticks % TimeSpan.TicksPerHour == 0 ? Invariant($"{ticks / TimeSpan.TicksPerHour}h")
            : ticks % TimeSpan.TicksPerMinute == 0 ? Invariant($"{ticks / TimeSpan.TicksPerMinute}m")
            : ticks % TimeSpan.TicksPerSecond == 0 ? Invariant($"{ticks / TimeSpan.TicksPerSecond}s")
            : Invariant($"{duration.TotalMilliseconds}ms");
    }

    /// <summary>The next delay of a capped exponential backoff: twice <paramref name="delay"/>, at most <paramref name="max"/>.</summary>
    public static TimeSpan DoubledUpTo(TimeSpan delay, TimeSpan max) => delay * 2 < max ? delay * 2 : max;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
