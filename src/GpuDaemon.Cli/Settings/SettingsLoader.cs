using System.CommandLine;

namespace GpuDaemon.Cli.Settings;

/// <summary>Merges a command's settings: explicit flags, then environment, then the config file.</summary>
internal static class SettingsLoader
{
    public static DaemonSettings Load(ParseResult parse, IReadOnlyList<Option> settingOptions, Option<string> configOption, IEnvironment environment)
    {
        var names = settingOptions.Select(o => SettingNames.FromFlag(o.Name)).ToList();
        var values = new Dictionary<string, SettingValue>(StringComparer.Ordinal);

        var configPath = ConfigPath(parse, configOption, environment);
        if (configPath is not null)
        {
            foreach (var (name, value) in ConfigFileReader.Read(configPath, names))
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
