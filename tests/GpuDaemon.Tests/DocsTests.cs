using System.Globalization;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

/// <summary>Defaults live once in code; the docs that state them are checked against it.</summary>
public sealed class DocsTests
{
    private static readonly string DevicePluginDoc = File.ReadAllText(RepoFiles.Path("docs/device-plugin.md"));

    [Fact]
    public void DevicePluginDoc_EveryServeSetting_DocumentedWithItsDefault()
    {
        var defaults = new PluginConfig();
        var expected = new Dictionary<string, string>
        {
            [PluginSettings.DevicePluginDir] = KubeletConstants.DefaultDevicePluginDir,
            [PluginSettings.ResourceNameSetting] = ResourceName.DefaultGpu,
            [PluginSettings.DevRoot] = defaults.DevRoot,
            [PluginSettings.IgnoredXids] = string.Join(',', PluginConfig.DefaultIgnoredXids),
            [PluginSettings.RecoveryPeriod] = defaults.RecoveryPeriod.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s",
            [PluginSettings.ProbeInterval] = defaults.ProbeInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s",
            [PluginSettings.Replicas] = defaults.Replicas.ToString(CultureInfo.InvariantCulture),
            [PluginSettings.HealthChecks] = "true",
            [PluginSettings.PreStartRequired] = "false",
        };

        foreach (var option in PluginSettings.Options())
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
