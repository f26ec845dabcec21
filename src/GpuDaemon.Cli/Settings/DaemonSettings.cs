using GpuDaemon.Devices;
using System.Globalization;

namespace GpuDaemon.Cli.Settings;

/// <summary>
/// The merged settings of one command: flags over environment over config file. Typed getters
/// turn a bad value into a <see cref="UsageException"/> that names where the value came from.
/// </summary>
internal sealed class DaemonSettings(IReadOnlyDictionary<string, SettingValue> values)
{
    public static readonly DaemonSettings Empty = new(new Dictionary<string, SettingValue>());

    public SettingValue? Find(string name) => values.TryGetValue(name, out var value) ? value : null;

    public string? GetString(string name) => Find(name)?.Raw;

    public string GetString(string name, string fallback) => Find(name)?.Raw ?? fallback;

    public int? GetInt(string name, int min, int max)
    {
        if (Find(name) is not { } value)
        {
            return null;
        }

        if (!int.TryParse(value.Raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) || parsed < min || parsed > max)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{value.Origin}: '{Excerpt.Of(value.Raw)}' is not a whole number from {min} to {max}"));
        }

        return parsed;
    }

    public bool GetBool(string name, bool fallback)
    {
        if (Find(name) is not { } value)
        {
            return fallback;
        }

        return value.Raw.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new UsageException($"{value.Origin}: '{Excerpt.Of(value.Raw)}' is not true or false"),
        };
    }

    /// <summary>
    /// The longest duration <see cref="GetDuration(string, TimeSpan)"/> accepts (7 days): every interval and
    /// period GpuDaemon has is seconds to hours, so a larger value is a typo (a unit missing or wrong).
    /// </summary>
    public static readonly TimeSpan DefaultMaxDuration = TimeSpan.FromDays(7);

    /// <summary>A duration from 0 to <see cref="DefaultMaxDuration"/>; see <see cref="GetDuration(string, TimeSpan, TimeSpan, TimeSpan)"/>.</summary>
    public TimeSpan GetDuration(string name, TimeSpan fallback) => GetDuration(name, fallback, TimeSpan.Zero, DefaultMaxDuration);

    /// <summary>
    /// A duration as <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, or plain seconds, from <paramref name="min"/> to
    /// <paramref name="max"/> inclusive. Anything else (not a number, NaN, infinite, negative, out of range) is a
    /// <see cref="UsageException"/> naming where the value came from.
    /// </summary>
    public TimeSpan GetDuration(string name, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(min, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        if (Find(name) is not { } value)
        {
            return fallback;
        }

        var raw = value.Raw.Trim();
        var (number, unit) = raw.EndsWith("ms", StringComparison.Ordinal) ? (raw[..^2], 0.001)
            : raw.EndsWith('s') ? (raw[..^1], 1.0)
            : raw.EndsWith('m') ? (raw[..^1], 60.0)
            : raw.EndsWith('h') ? (raw[..^1], 3600.0)
            : (raw, 1.0);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || !double.IsFinite(amount))
        {
            throw new UsageException($"{value.Origin}: '{Excerpt.Of(value.Raw)}' is not a duration such as 500ms, 30s or 5m");
        }

        // Compared as ticks in double, so no value, however large, can overflow TimeSpan.
        var ticks = Math.Round(amount * unit * TimeSpan.TicksPerSecond);
        if (!(ticks >= min.Ticks && ticks <= max.Ticks))
        {
            throw new UsageException($"{value.Origin}: '{Excerpt.Of(value.Raw)}' must be between {Durations.Format(min)} and {Durations.Format(max)}");
        }

        return ticks >= long.MaxValue ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>A comma-separated list of whole numbers.</summary>
    public IReadOnlyList<int>? GetIntList(string name)
    {
        if (Find(name) is not { } value)
        {
            return null;
        }

        var items = value.Raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new List<int>(items.Length);
        foreach (var item in items)
        {
            if (!int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
            {
                throw new UsageException($"{value.Origin}: '{Excerpt.Of(item)}' in '{Excerpt.Of(value.Raw)}' is not a whole number; give a list like 13,31,43");
            }

            result.Add(parsed);
        }

        return result;
    }

    public string GetChoice(string name, string fallback, params string[] allowed)
    {
        if (Find(name) is not { } value)
        {
            return fallback;
        }

        var match = allowed.FirstOrDefault(a => string.Equals(a, value.Raw, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new UsageException($"{value.Origin}: '{Excerpt.Of(value.Raw)}' is not one of {string.Join(", ", allowed)}");
    }
}
