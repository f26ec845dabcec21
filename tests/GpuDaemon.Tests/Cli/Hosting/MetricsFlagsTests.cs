using GpuDaemon.Cli;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Cli.Settings;
using GpuDaemon.Metrics;

namespace GpuDaemon.Tests.Cli.Hosting;

public sealed class MetricsFlagsTests
{
    private static DaemonSettings Settings(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => new SettingValue(v.Value, "--" + v.Name)));

    [Theory]
    [InlineData("HOSTNAME")]
    [InlineData("node")]
    [InlineData("")]
    public void Bind_BadHostnameLabel_UsageErrorNamingTheFlagAndChoices(string value)
    {
        var ex = Assert.Throws<UsageException>(() => MetricsFlags.Bind(Settings((MetricsFlags.HostnameLabel, value))));

        Assert.StartsWith($"--{MetricsFlags.HostnameLabel}: '{value}' is not one of Hostname, hostname", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("Hostname")]
    [InlineData("hostname")]
    public void Bind_KnownHostnameLabel_Kept(string value)
    {
        Assert.Equal(value, MetricsFlags.Bind(Settings((MetricsFlags.HostnameLabel, value))).HostnameLabel);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Bind_EmptyListen_EndpointOff(string value)
    {
        var options = MetricsFlags.Bind(Settings((MetricsFlags.MetricsListen, value)));

        Assert.Equal(string.Empty, options.Listen);
    }
}
