using System.CommandLine;
using GpuDaemon.Cli.Settings;

namespace GpuDaemon.Cli.Commands;

/// <summary>A command's setting options plus its --config, merged into <see cref="DaemonSettings"/> at run time.</summary>
internal sealed class CommandSettings
{
    private readonly List<Option> _options;
    private readonly Option<string> _config = CommonOptions.Config();

    public CommandSettings(Command command, IEnumerable<Option> options)
    {
        _options = [.. options];
        foreach (var option in _options)
        {
            command.Add(option);
        }

        command.Add(_config);
    }

    /// <param name="configText">The config file's content when already read (a watched change); null reads the file.</param>
    public DaemonSettings Load(ParseResult parse, IEnvironment environment, string? configText = null) =>
        SettingsLoader.Load(parse, _options, _config, environment, configText);

    /// <summary>The config file in use (flag or environment), to watch for changes; null if none.</summary>
    public string? ConfigPath(ParseResult parse, IEnvironment environment) =>
        SettingsLoader.ConfigPath(parse, _config, environment);
}
