using System.Text;
using System.Text.RegularExpressions;
using GpuDaemon.Cli;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

public sealed partial class DemoCommandTests
{
    [Fact]
    public async Task Demo_Exit_NarratesRegistrationAllocationFaultRecoveryAndRestart()
    {
        var result = await CliRunner.RunAsync("demo", "--exit", "--gpus", "4", "--recovery-period", "200ms", "--log-level", "none");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Error);
        string[] expected =
        [
            "[validate] driver, CUDA vector add on every GPU, NVML/CUDA agreement, degradation: ready: driver 550.127.05, CUDA 12.4, 4 GPUs",
            "[plugin]   registered nvidia.com/gpu as gpudaemon-nvidia.com-gpu.sock",
            "[metrics]  Prometheus metrics at http://127.0.0.1:",
            "[kubelet]  4 devices advertised, 4 Healthy (NUMA 0: 2, NUMA 1: 2)",
            "the plugin prefers GPU 0 and GPU 1",
            "[plugin]   Allocate: NVIDIA_VISIBLE_DEVICES=",
            "[kubelet]  GPU 3 is Unhealthy",
            "a stale Allocate for it is refused: FailedPrecondition",
            "[kubelet]  GPU 3 is Healthy again",
            "[plugin]   re-registered",
            "[plugin]   stopped; sockets removed",
        ];
        var position = 0;
        foreach (var line in expected)
        {
            var found = result.Output.IndexOf(line, position, StringComparison.Ordinal);
            Assert.True(found >= 0, $"missing or out of order: {line}\n{result.Output}");
            position = found;
        }
    }

    /// <summary>
    /// The README's <c>gpudaemon demo --exit</c> transcript is what the demo prints, in order: numbers may differ
    /// (timings, ports) and <c>…</c> stands for any text, but every line and its words are the demo's own.
    /// </summary>
    [Fact]
    public async Task Demo_ReadmeTranscript_EveryLinePrintedInOrder()
    {
        var readme = File.ReadAllLines(RepoFiles.Path("README.md"));
        var start = Array.IndexOf(readme, "$ gpudaemon demo --exit");
        Assert.True(start >= 0, "README.md has no '$ gpudaemon demo --exit' transcript");
        var transcript = readme.Skip(start + 1).TakeWhile(line => line != "```").ToList();
        Assert.True(transcript.Count >= 10, $"the README transcript has only {transcript.Count} lines");

        var result = await CliRunner.RunAsync("demo", "--exit", "--log-level", "none");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Error);
        var output = result.Output.Split('\n');
        var position = 0;
        foreach (var line in transcript)
        {
            var pattern = TranscriptLinePattern(line);
            var found = Array.FindIndex(output, position, printed => pattern.IsMatch(printed));
            Assert.True(found >= 0, $"README transcript line not printed (in this order) by the demo: {line}\n{result.Output}");
            position = found + 1;
        }
    }

    [Theory]
    [InlineData("[plugin]   re-registered 237 ms after the restart", "[plugin]   re-registered 38 ms after the restart", true)]
    [InlineData("[kubelet]  GPU 7 is Healthy again after 3.3 s", "[kubelet]  GPU 7 is Healthy again after 3.5 s", true)]
    [InlineData("in /tmp/gpudaemon-demo-…/simulation.json", "in /tmp/gpudaemon-demo-FhYu4l/simulation.json", true)]
    [InlineData("[plugin]   re-registered 237 ms after the restart", "[plugin]   registered 38 ms after the restart", false)]
    [InlineData("[kubelet]  8 devices advertised", "[kubelet]  8 devices advertised, 8 Healthy", false)]
    public void TranscriptLinePattern_Line_MatchesOnlyTheSameWords(string readmeLine, string printed, bool matches)
    {
        Assert.Equal(matches, TranscriptLinePattern(readmeLine).IsMatch(printed));
    }

    /// <summary>A README line as a pattern for a whole printed line: numbers stand for any number, … for any text.</summary>
    private static Regex TranscriptLinePattern(string line)
    {
        var pattern = new StringBuilder("^");
        foreach (var part in NumberOrEllipsis().Split(line))
        {
            pattern.Append(part switch
            {
                "…" => ".*?",
                _ when part.Length > 0 && char.IsAsciiDigit(part[0]) => @"\d+(?:\.\d+)?",
                _ => Regex.Escape(part),
            });
        }

        return new Regex(pattern.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?|…)")]
    private static partial Regex NumberOrEllipsis();

    [Fact]
    public async Task Demo_TooFewGpus_UsageError()
    {
        var result = await CliRunner.RunAsync("demo", "--gpus", "1");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--gpus: '1' is not a whole number from 2 to 64", result.Error, StringComparison.Ordinal);
    }
}
