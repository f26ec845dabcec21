using System.Text.RegularExpressions;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

/// <summary>The benchmark's figure table (tests/bench/run.sh) against the README that explains it and the CI that runs it.</summary>
public sealed partial class DocsTests
{
    private const string BenchTableHeader = "| figure | GpuDaemon | grpc-go baseline | ratio | goal | verdict |";

    [Fact]
    public void ReadmeBenchmarks_EveryFigureOfTheBenchTable_NamedWithALinkToTheReport()
    {
        var figures = BenchFigureRows().Select(row => row.Name).ToList();
        var readme = File.ReadAllText(RepoFiles.Path("README.md"));
        var start = readme.IndexOf("\n## Benchmarks\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Benchmarks' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? readme[start..] : readme[start..end];

        Assert.True(figures.Count >= 16, "found only " + figures.Count + " figure rows in tests/bench/run.sh: " + string.Join("; ", figures));
        Assert.Contains("[docs/benchmarks.md](docs/benchmarks.md)", section, StringComparison.Ordinal);
        var unnamed = figures.Where(f => !section.Contains($"**{f}**", StringComparison.Ordinal)).ToList();
        Assert.True(unnamed.Count == 0, "README's Benchmarks section does not name (in bold) the figures: " + string.Join("; ", unnamed));
    }

    [Fact]
    public void BenchScript_EveryVerdict_TitledLikeItsRowSoMissedLinksFindTheNotes()
    {
        var rows = BenchFigureRows();
        var judged = rows.Where(row => row.Verdict is not null).ToList();

        Assert.True(judged.Count >= 12, "found only " + judged.Count + " rows with a verdict");
        Assert.All(judged, row => Assert.Equal(row.Name, row.Verdict));
    }

    [Fact]
    public void BenchScript_MetricsMemoryFigure_ARowWithItsGoalAndACheckedFigure()
    {
        const string Name = "Resident memory the metrics subsystem adds";
        var script = File.ReadAllText(RepoFiles.Path("tests/bench/run.sh"));

        var row = Assert.Single(BenchFigureRows(), row => row.Name == Name);
        Assert.Equal(Name, row.Verdict);
        Assert.Contains("goal_metrics_rss_bytes=5000000", script, StringComparison.Ordinal);
        Assert.Contains("--metrics-listen \"\" --pod-resources-socket \"\"", script, StringComparison.Ordinal);
        // Every figure is checked to be a number, in the smoke run too: a measurement that was not taken fails it.
        Assert.Contains("figure metrics_rss_added_kib ", script, StringComparison.Ordinal);
        Assert.Contains("#### " + Name + "\n", File.ReadAllText(RepoFiles.Path("tests/bench/notes.md")).ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void RunAll_AfterTheTests_RunsTheBenchmarkSmokeRun()
    {
        var runAll = File.ReadAllText(RepoFiles.Path("tests/run-all.sh"));

        var tests = runAll.IndexOf("dotnet test GpuDaemon.sln", StringComparison.Ordinal);
        var smoke = runAll.IndexOf("bash tests/bench/run.sh --smoke --out", StringComparison.Ordinal);
        Assert.True(tests >= 0 && smoke > tests, "tests/run-all.sh must run tests/bench/run.sh --smoke after the xUnit suite");
    }

    /// <summary>The rows of run.sh's figure table: each row's name (its first column up to " (") and its verdict's title.</summary>
    private static List<(string Name, string? Verdict)> BenchFigureRows()
    {
        var lines = File.ReadAllLines(RepoFiles.Path("tests/bench/run.sh"));
        var header = Array.IndexOf(lines, BenchTableHeader);
        Assert.True(header >= 0, "tests/bench/run.sh has no figure table headed " + BenchTableHeader);
        return [.. lines.Skip(header + 2)
            .TakeWhile(line => line.StartsWith("| ", StringComparison.Ordinal))
            .Select(line =>
            {
                var name = BenchRowName().Match(line);
                Assert.True(name.Success, "no figure name in the row " + line);
                var verdict = BenchVerdictTitle().Match(line);
                return (name.Groups["name"].Value, verdict.Success ? verdict.Groups["title"].Value : null);
            })];
    }

    [GeneratedRegex(@"^\| (?<name>[^|(]+?)(?: \(| \|)")]
    private static partial Regex BenchRowName();

    [GeneratedRegex("\\$\\(verdict \"(?<title>[^\"]+)\"")]
    private static partial Regex BenchVerdictTitle();
}
