using System.Text.RegularExpressions;
using GpuDaemon.NodeLabels;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.NodeLabels;

/// <summary>docs/node-labels.md against the code: its keys, its default folder, its file name and bounds.</summary>
public sealed partial class NodeLabelsDocsTests
{
    private static readonly string Doc = File.ReadAllText(RepoFiles.Path("docs/node-labels.md"));

    [Fact]
    public void Doc_EveryKeyInTheTable_OneTheCalculatorCanWrite()
    {
        var keys = KeyRow().Matches(Doc).Select(m => m.Groups[1].Value.Replace("<profile>", "1g.10gb", StringComparison.Ordinal)).ToList();

        Assert.True(keys.Count >= 20, $"found only {keys.Count} keys");
        Assert.All(keys, k => Assert.True(NodeLabelKeys.IsKnown(k), $"docs/node-labels.md lists {k}, which the calculator never writes"));
        Assert.All(NodeLabelKeys.Fixed, k => Assert.Contains(k, keys));
    }

    [Fact]
    public void Doc_DefaultsAndBounds_EqualTheCode()
    {
        Assert.Contains($"| `--node-labels-dir` | `{NodeLabelsOptions.DefaultDirectory}` |", Doc, StringComparison.Ordinal);
        Assert.Contains($"The file is called `{NodeLabelsOptions.FileName}`", Doc, StringComparison.Ordinal);
        Assert.Contains($"`{NodeLabelsOptions.TemporaryFileName}`", Doc, StringComparison.Ordinal);
        Assert.Contains($"At most {NodeLabelsOptions.MaxLabels} labels", Doc, StringComparison.Ordinal);
        Assert.Contains("per-profile `nvidia.com/mig-<profile>.*` labels are left out first", Doc, StringComparison.Ordinal);
        Assert.Contains("only when it is exactly as long as the new content", Doc, StringComparison.Ordinal);
        Assert.Contains($"starts at\n{NodeLabelsOptions.FirstRetryDelay.TotalSeconds:0} s and doubles up to {NodeLabelsOptions.MaxRetryDelay.TotalMinutes:0} min", Doc, StringComparison.Ordinal);
        Assert.Contains($"| `--node-labels-dir` | `{NodeLabelsOptions.DefaultDirectory}` |", File.ReadAllText(RepoFiles.Path("docs/device-plugin.md")), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\| `((?:nvidia\.com|gpudaemon\.io)/[^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex KeyRow();
}
