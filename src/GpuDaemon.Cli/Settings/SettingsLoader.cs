using System.CommandLine;

namespace GpuDaemon.Cli.Settings;

/// <summary>Merges a command's settings: explicit flags, then environment, then the config file.</summary>
internal static class SettingsLoader
{
    /// <param name="configText">The config file's content when the caller has already read it; null reads the file.</param>
    public static DaemonSettings Load(ParseResult parse, IReadOnlyList<Option> settingOptions, Option<string> configOption, IEnvironment environment, string? configText = null)
    {
        var names = settingOptions.Select(o => SettingNames.FromFlag(o.Name)).ToList();
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);

        var configPath = ConfigPath(parse, configOption, environment);
        if (configPath is not null)
        {
            var fromFile = configText is null ? ConfigFileReader.Read(configPath, names) : ConfigFileReader.Parse(configText, configPath, names);
            foreach (var (name, value) in fromFile)
            {
                values[name] = value;
            }
        }

        foreach (var name in names)
        {
            var variable = SettingNames.EnvironmentVariable(name);
            if (environment.GetVariable(variable) is { Length: > 0 } raw)
            {
                values[name] = new SettingValue(raw, $"environment variable {variable}");
            }
        }

        foreach (var option in settingOptions)
        {
            if (ExplicitValue(parse, option) is { } raw)
            {
                values[SettingNames.FromFlag(option.Name)] = new SettingValue(raw, option.Name);
            }
        }

        return new DaemonSettings(values);
    }

    public static string? ConfigPath(ParseResult parse, Option<string> configOption, IEnvironment environment)
    {
        var path = ExplicitValue(parse, configOption)
            ?? environment.GetVariable(SettingNames.EnvironmentVariable(SettingNames.FromFlag(configOption.Name)));
        return string.IsNullOrEmpty(path) ? null : path;
    }

    private static string? ExplicitValue(ParseResult parse, Option option)
    {
        var result = parse.GetResult(option);
        if (result is null || result.Implicit)
        {
            return null;
        }

        if (result.Tokens.Count == 0)
        {
            return "true";
        }

        return string.Join(',', result.Tokens.Select(t => t.Value));
    }
}
