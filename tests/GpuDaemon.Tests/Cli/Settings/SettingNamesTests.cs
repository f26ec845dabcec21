using GpuDaemon.Cli.Settings;

namespace GpuDaemon.Tests.Cli.Settings;

public sealed class SettingNamesTests
{
    [Theory]
    [InlineData("--log-format", "log-format", "logFormat", "GPUDAEMON_LOG_FORMAT")]
    [InlineData("--simulate", "simulate", "simulate", "GPUDAEMON_SIMULATE")]
    [InlineData("--device-plugin-dir", "device-plugin-dir", "devicePluginDir", "GPUDAEMON_DEVICE_PLUGIN_DIR")]
    public void Names_Flag_DerivesConfigKeyAndEnvironmentVariable(string flag, string name, string configKey, string variable)
    {
        Assert.Equal(name, SettingNames.FromFlag(flag));
        Assert.Equal(configKey, SettingNames.ConfigKey(name));
        Assert.Equal(variable, SettingNames.EnvironmentVariable(name));
    }
}
