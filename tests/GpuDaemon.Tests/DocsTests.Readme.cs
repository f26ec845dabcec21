using System.Text.RegularExpressions;
using GpuDaemon.NodeLabels;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests;

/// <summary>The README's deploy sections: uninstall and the troubleshooting table stay true to the code.</summary>
public sealed partial class DocsTests
{
    private static readonly string Readme = File.ReadAllText(RepoFiles.Path("README.md"));

    [Fact]
    public void Readme_Uninstall_NamesTheNodeLabelFileLeftOnTheHost()
    {
        var uninstall = Section(Readme, "**Uninstall:**", "### Troubleshooting");
        var file = NodeLabelsOptions.DefaultDirectory + "/" + NodeLabelsOptions.FileName;

        Assert.Contains("`" + file + "`", uninstall, StringComparison.Ordinal);
        // The removal command reaches the host's file through kubectl debug's /host mount.
        Assert.Contains("rm /host" + file, uninstall, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_Upgrade_SaysAllocatableDropsWhileThePodRestarts()
    {
        var upgrade = Section(Readme, "**Upgrade.**", "**Uninstall:**");
        Assert.Contains("allocatable `nvidia.com/gpu` drops to 0 (capacity stays)", upgrade, StringComparison.Ordinal);
        Assert.DoesNotContain("keeps its GPUs allocatable", Readme, StringComparison.Ordinal);
        Assert.DoesNotContain("keeps its GPUs allocatable", File.ReadAllText(RepoFiles.Path("deploy/base/daemonset.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_Troubleshooting_EveryQuotedLineIsOneGpuDaemonPrints()
    {
        var templates = SourceTemplates();
        var rows = TroubleshootingRows();
        Assert.True(rows.Count >= 7, $"the troubleshooting table has {rows.Count} rows; has its header changed?");

        var problems = new List<string>();
        foreach (var (symptom, prints) in rows)
        {
            var quoted = Backticked().Matches(prints).Select(m => m.Groups["text"].Value).ToList();
            if (quoted.Count == 0 && !prints.Contains("nothing", StringComparison.Ordinal))
            {
                problems.Add($"'{symptom}' quotes no output and does not say GpuDaemon prints nothing");
            }

            foreach (var text in quoted)
            {
                var pattern = Glob.FromDoc(text);
                if (pattern.LiteralLength < 12)
                {
                    problems.Add($"'{symptom}': `{text}` is too little text to check");
                }
                else if (!templates.Any(t => pattern.Overlaps(t)))
                {
                    problems.Add($"'{symptom}': `{text}` matches no [LoggerMessage] template or string in src/");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [InlineData("GPU GPU-… is now unhealthy: <reason>", "GPU {Uuid} is now unhealthy: {Reason}", true)]
    [InlineData("cannot load NVML: libnvidia-ml.so.1 is not in …", "cannot load {library.Title}: {library.FileName} is not in {where}. ", true)]
    [InlineData("retrying in …ms, backing off to 5s", "retrying in {RetryMs}ms, backing off to {Max}", true)]
    [InlineData("GPU … is gone for good", "GPU {Uuid} is now unhealthy: {Reason}", false)]
    [InlineData("Still waiting (try <n>): driver: …", "Still waiting (try {Attempt}): {Check}: {Detail}; trying again in {Delay}", true)]
    [InlineData("Still waiting for the driver to load", "Still waiting (try {Attempt}): {Check}: {Detail}", false)]
    [InlineData("Pod attribution is down: the socket is gone", "{Message}", false)]
    public void GlobOverlaps_DocTextAgainstTemplate_WildcardsOnBothSides(string doc, string template, bool expected)
    {
        Assert.Equal(expected, Glob.FromDoc(doc).Overlaps(Glob.FromTemplate(template)));
    }

    private static string Section(string text, string from, string to)
    {
        var start = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"the README has no '{from}'");
        var end = text.IndexOf(to, start, StringComparison.Ordinal);
        return text[start..(end < 0 ? text.Length : end)];
    }

    /// <summary>(symptom, what GpuDaemon prints) for each row of the README's troubleshooting table.</summary>
    private static List<(string Symptom, string Prints)> TroubleshootingRows()
    {
        var table = Section(Readme, "### Troubleshooting", "\n## ");
        return [.. table.Split('\n')
            .Where(line => line.StartsWith("| ", StringComparison.Ordinal) && !line.StartsWith("| symptom ", StringComparison.Ordinal))
            .Select(line => line.Split(" | "))
            .Select(cells => (cells[0].TrimStart('|', ' '), cells[1]))];
    }

    /// <summary>Every [LoggerMessage] template and string literal in src/, adjacent concatenations joined, as globs.</summary>
    private static List<Glob> SourceTemplates()
    {
        var globs = new List<Glob>();
        foreach (var path in Directory.EnumerateFiles(RepoFiles.Path("src"), "*.cs", SearchOption.AllDirectories))
        {
            if (path.Contains("/obj/", StringComparison.Ordinal) || path.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            var code = Concatenation().Replace(File.ReadAllText(path), string.Empty);
            globs.AddRange(StringLiteral().Matches(code).Select(m => Glob.FromTemplate(m.Groups["text"].Value.Replace("\\\"", "\"", StringComparison.Ordinal))));
        }

        return globs;
    }

    [GeneratedRegex(@"`(?<text>[^`]+)`")]
    private static partial Regex Backticked();

    /// <summary><c>"a " + "b"</c> and <c>"a " + $"b"</c> across lines: the quotes and the plus between two literals.</summary>
    [GeneratedRegex(@"""\s*\+\s*\$?""")]
    private static partial Regex Concatenation();

    [GeneratedRegex(@"\$?""(?<text>(?:[^""\\\n]|\\.)*)""")]
    private static partial Regex StringLiteral();

    /// <summary>
    /// Text with wildcards: in a doc, … and &lt;x&gt; stand for any text; in a template, each {placeholder} does.
    /// Two globs overlap when some line matches both (and a doc's quote may be part of a longer line).
    /// </summary>
    private sealed partial class Glob
    {
        private const char Star = '\u0000';
        private readonly string _pattern;

        private Glob(string pattern) => _pattern = pattern;

        public int LiteralLength => _pattern.Count(c => c != Star);

        public static Glob FromDoc(string text) => new(Star + DocWildcard().Replace(text, Star.ToString()) + Star);

        public static Glob FromTemplate(string text)
        {
            var pattern = text.Replace("{{", "(", StringComparison.Ordinal).Replace("}}", ")", StringComparison.Ordinal);
            string previous;
            do
            {
                previous = pattern;
                pattern = Placeholder().Replace(pattern, Star.ToString());
            }
            while (pattern != previous);

            return new(pattern);
        }

        /// <summary>
        /// Whether one line matches both this doc quote and <paramref name="other"/>, a template: a doc wildcard may
        /// stand for any run of the template, a placeholder only for one word of the doc (a name, a path, a number),
        /// so a doc sentence cannot hide inside a template's {Detail}.
        /// </summary>
        public bool Overlaps(Glob other)
        {
            var a = _pattern;
            var b = other._pattern;
            var reach = new bool[a.Length + 1, b.Length + 1];
            reach[0, 0] = true;
            for (var i = 0; i <= a.Length; i++)
            {
                for (var j = 0; j <= b.Length; j++)
                {
                    if (!reach[i, j])
                    {
                        continue;
                    }

                    if (i < a.Length && a[i] == Star)
                    {
                        reach[i + 1, j] = true;
                        if (j < b.Length)
                        {
                            reach[i, j + 1] = true;
                        }
                    }

                    if (j < b.Length && b[j] == Star)
                    {
                        reach[i, j + 1] = true;
                        if (i < a.Length && a[i] != ' ')
                        {
                            reach[i + 1, j] = true;
                        }
                    }

                    if (i < a.Length && j < b.Length && a[i] == b[j] && a[i] != Star)
                    {
                        reach[i + 1, j + 1] = true;
                    }
                }
            }

            return reach[a.Length, b.Length];
        }

        [GeneratedRegex(@"…|<[a-z][a-z ]*>")]
        private static partial Regex DocWildcard();

        [GeneratedRegex(@"\{[^{}]*\}")]
        private static partial Regex Placeholder();
    }
}
