using GpuDaemon.Cli;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.DevicePlugin;
using GpuDaemon.Health;

namespace GpuDaemon.Tests.Cli.Hosting;

public sealed class ServeSettingsTests
{
    private static DaemonSettings Settings(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => new SettingValue(v.Value, "--" + v.Name)));

    [Fact]
    public void Bind_Nothing_EverySubsystemOnItsDefaults()
    {
        var settings = ServeSettings.Bind(DaemonSettings.Empty);

        Assert.Equal(new PluginOptions(), settings.DevicePlugin);
        Assert.Equal(new HealthOptions(), settings.Health);
        Assert.Equal(new GpuBackendOptions(BackendKind.Nvml, null, null, "/"), settings.Backend);
        Assert.Equal("/var/lib/kubelet/device-plugins", settings.DevicePlugin.DevicePluginDir);
        Assert.Equal("nvidia.com/gpu", settings.DevicePlugin.ResourceName);
    }

    [Fact]
    public void Bind_EverySetting_MappedToItsSubsystem()
    {
        var settings = ServeSettings.Bind(Settings(
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
            ("mig-strategy", "mixed"),
            ("simulate", "3")));
        var config = settings.DevicePlugin;
        var health = settings.Health;

        Assert.Equal("/tmp/dp", config.DevicePluginDir);
        Assert.Equal("example.com/accel", config.ResourceName);
        Assert.Equal(DeviceIdStrategy.Index, config.DeviceIdStrategy);
        Assert.Equal(DeviceListStrategy.CdiCri, config.DeviceListStrategy);
        Assert.False(health.HealthChecks);
        Assert.Equal([13, 79], health.IgnoredXids);
        Assert.Equal(TimeSpan.FromSeconds(90), health.RecoveryPeriod);
        Assert.Equal(TimeSpan.FromMilliseconds(250), health.ProbeInterval);
        Assert.True(config.PreStartRequired);
        Assert.Equal(4, config.Replicas);
        Assert.True(config.RenameShared);
        Assert.True(config.FailRequestsGreaterThanOne);
        Assert.Equal(ReplicaPolicy.Pack, config.ReplicaPolicy);
        Assert.Equal(MigStrategy.Mixed, config.MigStrategy);
        Assert.Equal(new GpuBackendOptions(BackendKind.Simulated, 3, null, "/"), settings.Backend);
    }

    [Fact]
    public void Bind_RelativeDirectory_MadeAbsolute()
    {
        var config = ServeSettings.Bind(Settings(("device-plugin-dir", "dp"))).DevicePlugin;

        Assert.Equal(Path.GetFullPath("dp"), config.DevicePluginDir);
    }

    [Theory]
    [InlineData("resource-name", "gpu", "--resource-name: resource name 'gpu' must look like domain/name")]
    [InlineData("recovery-period", "soon", "--recovery-period: 'soon' is not a duration")]
    [InlineData("ignored-xids", "13,x", "'x' in '13,x' is not a whole number")]
    [InlineData("replicas", "0", "--replicas: '0' is not a whole number from 1 to 64")]
    [InlineData("mig-strategy", "all", "--mig-strategy: 'all' is not one of none, single, mixed")]
    [InlineData("rename-shared", "true", "rename-shared needs replicas > 1")]
    [InlineData("probe-interval", "0.0005s", "--probe-interval: '0.0005s' must be between 100ms and 1h")]
    [InlineData("probe-interval", "2h", "--probe-interval: '2h' must be between 100ms and 1h")]
    [InlineData("recovery-period", "25h", "--recovery-period: '25h' must be between 0s and 24h")]
    [InlineData("recovery-period", "99999999999h", "--recovery-period: '99999999999h' must be between 0s and 24h")]
    [InlineData("simulate", "-1", "--simulate: '-1' is not a whole number")]
    public void Bind_BadValue_UsageErrorNamingIt(string name, string value, string expected)
    {
        var ex = Assert.Throws<UsageException>(() => ServeSettings.Bind(Settings((name, value))));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
