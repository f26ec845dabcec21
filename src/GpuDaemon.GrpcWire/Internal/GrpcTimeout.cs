using System.Globalization;

namespace GpuDaemon.GrpcWire.Internal;

/// <summary>The <c>grpc-timeout</c> header: at most 8 digits and a unit (H, M, S, m, u, n).</summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    public static bool TryParse(string? header, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(header) || header.Length < 2 || header.Length > 9)
        {
            return false;
        }

        if (!long.TryParse(header.AsSpan(0, header.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        double ticks;
        switch (header[^1])
        {
            case 'H': ticks = value * (double)TimeSpan.TicksPerHour; break;
            case 'M': ticks = value * (double)TimeSpan.TicksPerMinute; break;
            case 'S': ticks = value * (double)TimeSpan.TicksPerSecond; break;
            case 'm': ticks = value * (double)TimeSpan.TicksPerMillisecond; break;
            case 'u': ticks = value * (double)TimeSpan.TicksPerMicrosecond; break;
            case 'n': ticks = value / 100.0; break;
            default: return false;
        }

        timeout = ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)Math.Ceiling(ticks));
        return true;
    }

    /// <summary>Formats with the finest unit that fits in 8 digits.</summary>
    public static string Format(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero)
        {
            timeout = TimeSpan.Zero;
        }

        var micros = timeout.Ticks / TimeSpan.TicksPerMicrosecond;
        if (micros <= MaxValue)
        {
            return micros.ToString(CultureInfo.InvariantCulture) + "u";
        }

        var millis = (long)Math.Ceiling(timeout.TotalMilliseconds);
        if (millis <= MaxValue)
        {
            return millis.ToString(CultureInfo.InvariantCulture) + "m";
        }

        var seconds = (long)Math.Ceiling(timeout.TotalSeconds);
        if (seconds <= MaxValue)
        {
            return seconds.ToString(CultureInfo.InvariantCulture) + "S";
        }

        return Math.Min((long)Math.Ceiling(timeout.TotalHours), MaxValue).ToString(CultureInfo.InvariantCulture) + "H";
    }
}
