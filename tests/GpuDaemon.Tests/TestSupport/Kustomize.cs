using System.Collections.Concurrent;
using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// Renders the repository's kustomizations with <c>kubectl kustomize</c> (once per folder per test run) and
/// parses the objects. Tests that need it use <see cref="KubectlFactAttribute"/>/<see cref="KubectlTheoryAttribute"/>,
/// which skip, saying why, where kubectl is not installed.
/// </summary>
public static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<IReadOnlyList<YamlMappingNode>>> Rendered = new(StringComparer.Ordinal);

    /// <summary>kubectl on PATH, or null.</summary>
    public static string? Kubectl { get; } = FindOnPath("kubectl");

    public const string SkipReason = "kubectl is not installed (tests/run-all.sh installs Debian's kubernetes-client); the deploy/ manifests were not rendered or checked";

    /// <summary>The objects <c>kubectl kustomize deploy/&lt;folder&gt;</c> renders.</summary>
    public static IReadOnlyList<YamlMappingNode> Render(string folder) =>
        Rendered.GetOrAdd(folder, f => new Lazy<IReadOnlyList<YamlMappingNode>>(() => RenderNow(f))).Value;

    private static List<YamlMappingNode> RenderNow(string folder)
    {
        var start = new ProcessStartInfo(Kubectl ?? throw new InvalidOperationException(SkipReason))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(RepoFiles.Path(Path.Combine("deploy", folder)));
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new InvalidOperationException($"kubectl kustomize deploy/{folder} did not finish within 2 minutes");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize deploy/{folder} failed ({process.ExitCode}): {stderr.Result}");
        }

        var stream = new YamlStream();
        stream.Load(new StringReader(stdout));
        return [.. stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()];
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact that is skipped, with the reason, where kubectl is absent.</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    public KubectlFactAttribute()
    {
        if (Kustomize.Kubectl is null)
        {
            Skip = Kustomize.SkipReason;
        }
    }
}

/// <summary>A theory that is skipped, with the reason, where kubectl is absent.</summary>
public sealed class KubectlTheoryAttribute : TheoryAttribute
{
    public KubectlTheoryAttribute()
    {
        if (Kustomize.Kubectl is null)
        {
            Skip = Kustomize.SkipReason;
        }
    }
}
