using System.Globalization;

namespace GpuDaemon.Cli.Settings;

/// <summary>
/// The merged settings of one command: flags over environment over config file. Typed getters
/// turn a bad value into a <see cref="UsageException"/> that names where the value came from.
/// </summary>
public sealed class DaemonSettings(IReadOnlyDictionary<string, SettingValue> values)
{
    public static readonly DaemonSettings Empty = new(new Dictionary<string, SettingValue>());

    public SettingValue? Find(string name) => values.TryGetValue(name, out var value) ? value : null;

    public bool IsSet(string name) => values.ContainsKey(name);

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
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{value.Origin}: '{value.Raw}' is not a whole number from {min} to {max}"));
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
            _ => throw new UsageException($"{value.Origin}: '{value.Raw}' is not true or false"),
        };
    }

    public string GetChoice(string name, string fallback, params string[] allowed)
    {
        if (Find(name) is not { } value)
        {
            return fallback;
        }

        var match = allowed.FirstOrDefault(a => string.Equals(a, value.Raw, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new UsageException($"{value.Origin}: '{value.Raw}' is not one of {string.Join(", ", allowed)}");
    }
}
