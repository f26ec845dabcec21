using GpuDaemon.Cli;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;

namespace GpuDaemon.Tests.Cli.Hosting;

public sealed class PluginSettingsTests
{
    private static DaemonSettings Settings(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => new SettingValue(v.Value, "--" + v.Name)));

    [Fact]
    public void From_Nothing_Defaults()
    {
        var config = PluginSettings.From(DaemonSettings.Empty);

        Assert.Equal(new PluginConfig(), config with { IgnoredXids = PluginConfig.DefaultIgnoredXids });
        Assert.Equal("/var/lib/kubelet/device-plugins", config.DevicePluginDir);
        Assert.Equal("nvidia.com/gpu", config.ResourceName);
    }

    [Fact]
    public void From_EverySetting_Mapped()
    {
        var config = PluginSettings.From(Settings(
            ("device-plugin-dir", "/tmp/dp"),
            ("resource-name", "example.com/accel"),
            ("device-id-strategy", "index"),
            ("device-list-strategy", "cdi-cri"),
            ("health-checks", "false"),
            ("ignored-xids", "13, 79"),
            ("recovery-period", "1.5m"),
            ("probe-interval", "250ms"),
            ("pre-start-required", "true"),
            ("replicas", "4"),
            ("rename-shared", "yes"),
            ("fail-requests-greater-than-one", "1"),
            ("replica-policy", "pack"),
            ("mig-strategy", "mixed")));

        Assert.Equal("/tmp/dp", config.DevicePluginDir);
        Assert.Equal("example.com/accel", config.ResourceName);
        Assert.Equal(DeviceIdStrategy.Index, config.DeviceIdStrategy);
        Assert.Equal(DeviceListStrategy.CdiCri, config.DeviceListStrategy);
        Assert.False(config.HealthChecks);
        Assert.Equal([13, 79], config.IgnoredXids);
        Assert.Equal(TimeSpan.FromSeconds(90), config.RecoveryPeriod);
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.ProbeInterval);
        Assert.True(config.PreStartRequired);
        Assert.Equal(4, config.Replicas);
        Assert.True(config.RenameShared);
        Assert.True(config.FailRequestsGreaterThanOne);
        Assert.Equal(ReplicaPolicy.Pack, config.ReplicaPolicy);
        Assert.Equal(MigStrategy.Mixed, config.MigStrategy);
    }

    [Fact]
    public void From_RelativeDirectory_MadeAbsolute()
    {
        var config = PluginSettings.From(Settings(("device-plugin-dir", "dp")));

        Assert.Equal(Path.GetFullPath("dp"), config.DevicePluginDir);
    }

    [Theory]
    [InlineData("resource-name", "gpu", "--resource-name: resource name 'gpu' must look like domain/name")]
    [InlineData("recovery-period", "soon", "--recovery-period: 'soon' is not a duration")]
    [InlineData("ignored-xids", "13,x", "'x' in '13,x' is not a whole number")]
    [InlineData("replicas", "0", "--replicas: '0' is not a whole number from 1 to 64")]
    [InlineData("mig-strategy", "all", "--mig-strategy: 'all' is not one of none, single, mixed")]
    [InlineData("rename-shared", "true", "rename-shared needs replicas > 1")]
    public void From_BadValue_UsageErrorNamingIt(string name, string value, string expected)
    {
        var ex = Assert.Throws<UsageException>(() => PluginSettings.From(Settings((name, value))));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
