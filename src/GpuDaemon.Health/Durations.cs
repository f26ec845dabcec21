using System.Globalization;

namespace GpuDaemon.Health;

/// <summary>Durations written the way the settings take them: 500ms, 30s, 5m, 1h.</summary>
public static class Durations
{
    public static string Format(TimeSpan value) => value switch
    {
        { Ticks: 0 } => "0s",
        _ when value.TotalHours >= 1 && value.TotalHours == Math.Floor(value.TotalHours) => string.Create(CultureInfo.InvariantCulture, $"{value.TotalHours:0}h"),
        _ when value.TotalMinutes >= 1 && value.TotalMinutes == Math.Floor(value.TotalMinutes) => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMinutes:0}m"),
        _ when value.TotalSeconds >= 1 => string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds:0.###}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###}ms"),
    };
}
