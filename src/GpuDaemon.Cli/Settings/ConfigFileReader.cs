using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GpuDaemon.Cli.Settings;

/// <summary>
/// Reads a YAML (or JSON) config file of top-level settings, keys as in <see cref="SettingNames.ConfigKey"/>.
/// Unknown keys are refused, so a typo cannot silently do nothing.
/// </summary>
public static class ConfigFileReader
{
    public static Dictionary<string, SettingValue> Read(string path, IReadOnlyCollection<string> knownNames)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read config file {path}: {ex.Message}");
        }

        var origin = $"config file {path}";
        var byConfigKey = knownNames.ToDictionary(SettingNames.ConfigKey, n => n, StringComparer.Ordinal);
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{origin} is not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}"));
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return values;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new UsageException($"{origin} must be a mapping of settings (key: value)");
        }

        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? string.Empty;
            if (!byConfigKey.TryGetValue(key, out var name))
            {
                var known = string.Join(", ", byConfigKey.Keys.Order(StringComparer.Ordinal));
                throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{origin}, line {keyNode.Start.Line}: unknown setting '{key}'; known settings: {known}"));
            }

            if (valueNode is not YamlScalarNode scalar)
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{origin}, line {valueNode.Start.Line}: '{key}' must be a single value"));
            }

            values[name] = new SettingValue(scalar.Value ?? string.Empty, $"{origin} ({key})");
        }

        return values;
    }
}
