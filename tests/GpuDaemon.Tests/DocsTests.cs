using System.Globalization;
using System.Text.RegularExpressions;
using GpuDaemon.Cli.Hosting;
using GpuDaemon.Devices;
using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.Health;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

/// <summary>Defaults live once in code; the docs that state them are checked against it.</summary>
public sealed partial class DocsTests
{
    private static readonly string DevicePluginDoc = File.ReadAllText(RepoFiles.Path("docs/device-plugin.md"));

    /// <summary>Docs about one assembly, by assembly name: the event ids they quote must be its own.</summary>
    private static readonly Dictionary<string, string> DocAssemblies = new(StringComparer.Ordinal)
    {
        ["docs/nvml.md"] = "GpuDaemon.Nvidia",
    };

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
    public void ReliabilityDoc_EveryLimit_StatedWithTheValueInCode()
    {
        var doc = File.ReadAllText(RepoFiles.Path("docs/reliability.md"));
        string[] expected =
        [
            $"| open connections | {GpuDaemon.GrpcWire.GrpcLimits.DefaultMaxConcurrentConnections} |",
            $"| streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS) | {GpuDaemon.GrpcWire.GrpcLimits.DefaultMaxStreamsPerConnection} |",
            $"| request message size | {MiB(GpuDaemon.GrpcWire.GrpcLimits.DefaultMaxReceiveMessageBytes)} |",
            $"| request-body deadline | {Durations.Format(GpuDaemon.GrpcWire.GrpcLimits.DefaultRequestBodyTimeout).Replace("s", " s", StringComparison.Ordinal)} ",
            $"| incomplete request bytes per connection | {MiB(GpuDaemon.GrpcWire.GrpcLimits.DefaultMaxBufferedRequestBytesPerConnection)} ",
            $"| incomplete request bytes, whole server | {MiB(GpuDaemon.GrpcWire.GrpcLimits.DefaultMaxBufferedRequestBytes)} ",
            $"| longest enforced `grpc-timeout` | {GpuDaemon.GrpcWire.GrpcLimits.MaxEnforcedTimeout.TotalDays} days |",
            $"| largest file read | {MiB(GpuDaemon.Cli.Settings.ConfigFileReader.MaxFileBytes)} (`ConfigFileReader.MaxFileBytes`)",
            $"{MiB(GpuDaemon.Devices.Simulated.SimulatedBackend.MaxScenarioFileBytes)} (`SimulatedBackend.MaxScenarioFileBytes`)",
            $"at most **{GpuDaemon.Devices.Broadcast<int>.MaxQueuedPerSubscriber:N0}** items",
            $"A check still running after **{GpuDaemon.Health.GpuHealthMonitor.DefaultProbeTimeout.TotalSeconds} s**",
            $"doubling to **{GpuDaemon.DevicePlugin.Kubelet.ResourceEndpoint.MaxRetry.TotalSeconds} s**",
            $"at least every {new GpuDaemon.DevicePlugin.PluginOptions().KubeletCheckInterval.TotalSeconds} s\n  (`KubeletCheckInterval`)",
        ];

        Assert.All(expected, text => Assert.Contains(text, doc, StringComparison.Ordinal));
    }

    private static string MiB(long bytes) => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB";

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

    [Fact]
    public void Docs_QuotedEventIds_AreLogMessagesOfTheAssemblyTheDocIsAbout()
    {
        Assert.All(DocAssemblies.Values, name => Assert.Contains(name, LoggerMessages.Assemblies.Select(a => a.GetName().Name)));
        var problems = new List<string>();
        var quoted = 0;
        foreach (var doc in MarkdownDocs())
        {
            var about = DocAssemblies.GetValueOrDefault(doc);
            var known = LoggerMessages.All
                .Where(m => about is null || m.Assembly.GetName().Name == about)
                .Select(m => m.EventId)
                .ToHashSet();
            foreach (var id in QuotedEventIds(File.ReadAllText(RepoFiles.Path(doc))))
            {
                quoted++;
                if (!known.Contains(id))
                {
                    problems.Add($"{doc} quotes event {id}, which is no [LoggerMessage] of {about ?? "any GpuDaemon assembly"}");
                }
            }
        }

        Assert.True(quoted > 0, "no doc quotes an event id; has the phrasing moved away from 'event NNNN'?");
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    [Theory]
    [InlineData("left out with a warning (event 9002); a failure", new[] { 9002 })]
    [InlineData("Event 9002 says so", new[] { 9002 })]
    [InlineData("see events 9002 and 9003.", new[] { 9002, 9003 })]
    [InlineData("see events 9001, 9002, and 9003.", new[] { 9001, 9002, 9003 })]
    [InlineData("no NVML health events (probed instead) after 5000 events", new int[0])]
    public void QuotedEventIds_DocPhrasing_FindsEachId(string text, int[] expected)
    {
        Assert.Equal(expected, QuotedEventIds(text));
    }

    private static IEnumerable<string> MarkdownDocs() =>
        Directory.EnumerateFiles(RepoFiles.Path("docs"), "*.md")
            .Select(path => "docs/" + Path.GetFileName(path))
            .Append("README.md")
            .Order(StringComparer.Ordinal);

    /// <summary>Event ids a doc quotes as "event 9002", "events 9002 and 9003" or "events 9001, 9002, and 9003".</summary>
    private static List<int> QuotedEventIds(string text) =>
        [.. EventIdQuote().Matches(text)
            .SelectMany(m => m.Groups["id"].Captures)
            .Select(c => int.Parse(c.Value, CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"\bevents? (?<id>\d+)(?:(?:,? and |, )(?<id>\d+))*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EventIdQuote();
}
