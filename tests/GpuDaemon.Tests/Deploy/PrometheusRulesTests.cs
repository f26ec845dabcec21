using System.ComponentModel;
using System.Diagnostics;
using GpuDaemon.Tests.TestSupport;
using YamlDotNet.RepresentationModel;

namespace GpuDaemon.Tests.Deploy;

/// <summary>deploy/metrics/alerts.yaml is valid for Prometheus, and its promtool unit tests pass and cover every alert both ways.</summary>
public sealed class PrometheusRulesTests
{
    private static readonly string Rules = RepoFiles.Path("deploy/metrics/alerts.yaml");
    private static readonly string RuleTests = RepoFiles.Path("deploy/metrics/alerts_test.yaml");
    private static readonly string[] Severities = ["warning", "critical"];

    [Fact]
    public async Task PromtoolCheckRules_AlertsFile_Valid()
    {
        var (exitCode, output) = await PromtoolAsync("check", "rules", Rules);

        Assert.True(exitCode == 0, "promtool check rules failed:\n" + output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolTestRules_UnitTests_Pass()
    {
        var (exitCode, output) = await PromtoolAsync("test", "rules", RuleTests);

        Assert.True(exitCode == 0, "promtool test rules failed:\n" + output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void AlertsFile_EveryAlert_SeverityAnnotationsAndTestsThatFireAndDoNot()
    {
        var group = Assert.Single(Sequence(Load(Rules)["groups"]));
        Assert.Equal("gpudaemon", Scalar(group["name"]));
        var rules = Sequence(group["rules"]).ToList();
        var tests = Sequence(Load(RuleTests)["tests"])
            .SelectMany(t => Sequence(t["alert_rule_test"]))
            .Select(t => (Alert: Scalar(t["alertname"]), Fires: Sequence(t["exp_alerts"]).Any()))
            .ToList();

        string[] expected = ["GpuUnhealthy", "GpuXidErrors", "GpuDaemonNotRegistered", "GpuHighTemperature", "GpuRowRemapFailure", "GpuDaemonPodResourcesDown"];
        Assert.Equal(expected.Order(StringComparer.Ordinal), rules.Select(r => Scalar(r["alert"])).Order(StringComparer.Ordinal));
        foreach (var rule in rules)
        {
            var name = Scalar(rule["alert"]);
            Assert.Contains(Scalar(Mapping(rule["labels"])["severity"]), Severities);
            var annotations = Mapping(rule["annotations"]);
            Assert.False(string.IsNullOrWhiteSpace(Scalar(annotations["summary"])), name + " has no summary");
            Assert.False(string.IsNullOrWhiteSpace(Scalar(annotations["description"])), name + " has no description");
            Assert.True(tests.Any(t => t.Alert == name && t.Fires), name + " has no test where it fires");
            Assert.True(tests.Any(t => t.Alert == name && !t.Fires), name + " has no test where it does not fire");
        }
    }

    /// <summary>Runs promtool; its absence fails the test with what to install (tests/run-all.sh installs it).</summary>
    private static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("promtool")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = RepoFiles.Path("deploy/metrics"),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("promtool did not start");
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"promtool could not be started ({ex.Message}); install it (Debian: apt-get install prometheus, or run tests/run-all.sh, which does) and run the tests again");
            throw;
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var errors = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + await errors);
        }
    }

    private static YamlMappingNode Load(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return Mapping(stream.Documents.Single().RootNode);
    }

    private static YamlMappingNode Mapping(YamlNode node) => Assert.IsType<YamlMappingNode>(node);

    private static IEnumerable<YamlNode> Sequence(YamlNode node) => Assert.IsType<YamlSequenceNode>(node).Children;

    private static string Scalar(YamlNode node) => Assert.IsType<YamlScalarNode>(node).Value ?? string.Empty;
}
