using System.Globalization;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Health;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

/// <summary>Defaults live once in code; the docs that state them are checked against it.</summary>
public sealed class DocsTests
{
    private static readonly string DevicePluginDoc = File.ReadAllText(RepoFiles.Path("docs/device-plugin.md"));

    [Fact]
    public void DevicePluginDoc_EveryServeSetting_DocumentedWithItsDefault()
    {
        var defaults = new PluginOptions();
        var health = new HealthOptions();
        var expected = new Dictionary<string, string>
        {
            [DevicePluginFlags.DevicePluginDir] = KubeletConstants.DefaultDevicePluginDir,
            [DevicePluginFlags.ResourceNameSetting] = ResourceName.DefaultGpu,
            [DevicePluginFlags.DevRoot] = defaults.DevRoot,
            [HealthFlags.IgnoredXids] = string.Join(',', HealthOptions.DefaultIgnoredXids),
            [HealthFlags.RecoveryPeriod] = Durations.Format(health.RecoveryPeriod),
            [HealthFlags.ProbeInterval] = Durations.Format(health.ProbeInterval),
            [DevicePluginFlags.Replicas] = defaults.Replicas.ToString(CultureInfo.InvariantCulture),
            [HealthFlags.HealthChecks] = "true",
            [DevicePluginFlags.PreStartRequired] = "false",
        };

        foreach (var option in DevicePluginFlags.Options().Concat(HealthFlags.Options()))
        {
            Assert.Contains($"| `{option.Name}` |", DevicePluginDoc, StringComparison.Ordinal);
        }

        foreach (var (name, value) in expected)
        {
            Assert.Contains($"| `--{name}` | `{value}` |", DevicePluginDoc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SimulationExample_IsTheOneTheDocsPointTo()
    {
        Assert.True(File.Exists(RepoFiles.Path("deploy/simulation-example.json")));
        Assert.Contains("deploy/simulation-example.json", File.ReadAllText(RepoFiles.Path("docs/simulation.md")), StringComparison.Ordinal);
        Assert.Contains("deploy/simulation-example.json", File.ReadAllText(RepoFiles.Path("README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_TestCommand_IsWhatCiRuns()
    {
        Assert.Contains("bash tests/run-all.sh", File.ReadAllText(RepoFiles.Path("README.md")), StringComparison.Ordinal);
        Assert.Contains("exec bash tests/run-all.sh", File.ReadAllText(RepoFiles.Path(".ci/run")), StringComparison.Ordinal);
    }
}
