using System.CommandLine;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;

namespace GpuDaemon.Cli.Commands;

/// <summary>
/// Options several commands share. Each call makes fresh instances; a command lists the ones that are
/// settings (flag, environment variable and config key) in its <see cref="CommandSettings"/>.
/// </summary>
internal static class CommonOptions
{
    public static Option<string> Config() => new("--config")
    {
        Description = $"YAML or JSON file of settings (keys as flags in camelCase); also {SettingNames.EnvironmentVariable("config")}",
        HelpName = "FILE",
    };

    public static Option<string> Backend() => new("--" + GpuBackendOptions.BackendSetting)
    {
        Description = "Device backend: simulated or nvml [default: nvml, or simulated with --simulate/--simulation]",
        HelpName = "simulated|nvml",
    };

    public static Option<int> Simulate() => new("--" + GpuBackendOptions.SimulateSetting)
    {
        Description = "Simulate N deterministic GPUs instead of reading real ones",
        HelpName = "N",
    };

    public static Option<string> Simulation() => new("--" + GpuBackendOptions.SimulationSetting)
    {
        Description = "Simulate the GPUs described in a JSON scenario file, re-read when it changes (see docs/simulation.md)",
        HelpName = "FILE",
    };

    public static Option<string> DriverRoot() => new("--" + GpuBackendOptions.DriverRootSetting)
    {
        Description = $"Root of the NVIDIA driver installation on the host [default: {GpuDaemonDefaults.DriverRoot}]",
        HelpName = "DIR",
    };

    public static Option<string> LogFormat() => new("--" + LoggingSetup.FormatSetting)
    {
        Description = $"Log format on stderr: plain or json [default: {GpuDaemonDefaults.LogFormat}]",
        HelpName = "plain|json",
    };

    public static Option<string> LogLevel(string defaultLevel) => new("--" + LoggingSetup.LevelSetting)
    {
        Description = $"Least severe log level shown: trace, debug, information, warning, error [default: {defaultLevel}]",
        HelpName = "LEVEL",
    };

    /// <summary>The device-source and logging options most commands take.</summary>
    public static List<Option> DeviceAndLogging(string defaultLogLevel) =>
        [Backend(), Simulate(), Simulation(), DriverRoot(), LogFormat(), LogLevel(defaultLogLevel)];
}
