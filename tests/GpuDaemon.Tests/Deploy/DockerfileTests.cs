using System.Diagnostics;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Deploy;

/// <summary>
/// The Dockerfile, without a container engine: its publish command, run exactly as written, yields a gpudaemon
/// that starts with the image's runtime settings; the stages, entry point and build context are as the manifests expect.
/// </summary>
public sealed partial class DockerfileTests
{
    public const string InstallerStage = "installer";

    private static readonly string Dockerfile = File.ReadAllText(RepoFiles.Path("Dockerfile"));

    /// <summary>The image's ENTRYPOINT executable (the exec form's first element).</summary>
    public static string EntryPoint()
    {
        var entries = EntryPointLine().Matches(Dockerfile).Select(m => m.Groups[1].Value).Distinct().ToList();
        return Assert.Single(entries);
    }

    [Fact]
    public void RuntimeSettings_BothImages_TheSameMemorySettings()
    {
        var installer = Dockerfile[Dockerfile.IndexOf($"AS {InstallerStage}", StringComparison.Ordinal)..Dockerfile.LastIndexOf("FROM ", StringComparison.Ordinal)];
        var installerSettings = DotnetSetting().Matches(installer).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);

        var runtime = RuntimeSettings();

        Assert.Equal(runtime.OrderBy(s => s.Key), installerSettings.OrderBy(s => s.Key));
        Assert.Equal("65536", runtime["MALLOC_MMAP_THRESHOLD_"]);
        Assert.Equal("0x200000", runtime["DOTNET_GCgen0size"]);
        Assert.Equal("0x100000", runtime["DOTNET_GCRegionSize"]);
    }

    [Fact]
    public void Stages_Dockerfile_TestsBeforePublishShellLessDefaultAndAnInstallerWithAShell()
    {
        var stages = StageLine().Matches(Dockerfile).Select(m => (Image: m.Groups[1].Value, Name: m.Groups[2].Value)).ToList();

        Assert.Equal(["build", InstallerStage, "runtime"], stages.Select(s => s.Name));
        Assert.Contains("/dotnet/sdk:", stages[0].Image, StringComparison.Ordinal);
        // The default target is the last stage: chiseled, no shell or package manager.
        Assert.EndsWith("-chiseled", stages[^1].Image, StringComparison.Ordinal);
        Assert.DoesNotContain("chiseled", stages[1].Image, StringComparison.Ordinal);
        var tests = Dockerfile.IndexOf("RUN bash tests/run-all.sh", StringComparison.Ordinal);
        Assert.InRange(tests, 0, Dockerfile.IndexOf("RUN dotnet publish", StringComparison.Ordinal));
        Assert.Equal(2, Regex.Count(Dockerfile, @"COPY --from=build /out/ /opt/gpudaemon/"));
        Assert.StartsWith("/opt/gpudaemon/", EntryPoint(), StringComparison.Ordinal);
        foreach (var label in new[] { "title", "description", "version", "revision" })
        {
            Assert.Equal(2, Regex.Count(Dockerfile, $@"org\.opencontainers\.image\.{label}="));
        }
    }

    [Fact]
    public void DockerIgnore_BuildContext_LeavesOutBuildOutputsKeepsTests()
    {
        var ignored = File.ReadAllLines(RepoFiles.Path(".dockerignore")).Where(l => l.Length > 0 && l[0] != '#').ToList();

        Assert.Contains("**/bin", ignored);
        Assert.Contains("**/obj", ignored);
        Assert.Contains(".git", ignored);
        Assert.DoesNotContain(ignored, l => l.TrimStart('/').StartsWith("tests", StringComparison.Ordinal) || l.TrimStart('/').StartsWith("src", StringComparison.Ordinal));
    }

    /// <summary>Slow (a trimmed self-contained publish): the one test that builds the image's binary.</summary>
    [Fact]
    public async Task PublishCommand_RunAsWritten_BinaryStartsWithTheImagesSettings()
    {
        var command = PublishCommand();
        Assert.Equal(["dotnet", "publish"], command[..2]);
        var output = Array.IndexOf(command, "-o");
        Assert.Equal("/out", command[output + 1]);
        using var temp = new TempDirectory();
        command[output + 1] = temp.File("out");

        var (publishCode, publishOutput) = await RunAsync(command[0], command[1..], RepoFiles.Root, [], TimeSpan.FromMinutes(15));
        Assert.True(publishCode == 0, "the Dockerfile's publish failed:\n" + publishOutput);

        var binary = Path.Combine(temp.File("out"), "gpudaemon");
        Assert.True(File.Exists(binary), "publish produced no " + binary);
        AssertShippedBuild(temp.File("out"));
        var settings = RuntimeSettings();
        Assert.Contains(settings, s => s.Key == "DOTNET_gcServer");

        var (helpCode, help) = await RunAsync(binary, ["--help"], temp.Path, settings, TimeSpan.FromMinutes(1));
        Assert.True(helpCode == 0, help);
        Assert.Contains("serve", help, StringComparison.Ordinal);
        Assert.Contains("validate", help, StringComparison.Ordinal);

        var (devicesCode, devices) = await RunAsync(binary, ["devices", "--simulate", "1", "-o", "json"], temp.Path, settings, TimeSpan.FromMinutes(1));
        Assert.True(devicesCode == 0, devices);
        Assert.Contains("\"uuid\"", devices, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The shipped publish settings live in the Cli project, so the Dockerfile and the benchmark publish with the same
    /// plain command and cannot drift apart.
    /// </summary>
    [Fact]
    public void PublishCommand_DockerfileAndBenchmark_PlainPublishWithTheSettingsInTheProject()
    {
        var command = PublishCommand();
        var output = Array.IndexOf(command, "-o");
        var dockerfileArgs = command[3..output].Concat(command[(output + 2)..]).ToArray();
        var benchmark = File.ReadAllLines(RepoFiles.Path("tests/bench/run.sh"));
        var benchmarkArgs = Assert.Single(benchmark, l => l.StartsWith("publish_args=(", StringComparison.Ordinal))["publish_args=(".Length..].TrimEnd(')').Split(' ');

        Assert.Equal("src/GpuDaemon.Cli/GpuDaemon.Cli.csproj", command[2]);
        Assert.Equal(["-c", "Release", "-r", "linux-x64"], dockerfileArgs);
        Assert.Equal(dockerfileArgs, benchmarkArgs);
    }

    /// <summary>What the project's publish settings promise: self-contained, trimmed, ReadyToRun composite, English resources only.</summary>
    private static void AssertShippedBuild(string directory)
    {
        Assert.True(File.Exists(Path.Combine(directory, "libcoreclr.so")), "not self-contained: no libcoreclr.so in " + directory);
        Assert.False(File.Exists(Path.Combine(directory, "Microsoft.VisualBasic.Core.dll")), "not trimmed: an unused framework assembly was published");
        Assert.False(Directory.Exists(Path.Combine(directory, "de")), "satellite resources other than English were published");
        Assert.True(File.Exists(Path.Combine(directory, "gpudaemon.r2r.dll")), "no composite ReadyToRun image (gpudaemon.r2r.dll)");
        foreach (var assembly in new[] { "gpudaemon.dll", "System.Private.CoreLib.dll", "Microsoft.AspNetCore.Server.Kestrel.Core.dll" })
        {
            using var pe = new PEReader(File.OpenRead(Path.Combine(directory, assembly)));
            Assert.True(pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0, assembly + " has no ReadyToRun code");
        }
    }

    /// <summary>The build stage's publish command, continuation lines joined, split into words (it has no quotes).</summary>
    private static string[] PublishCommand()
    {
        var joined = Dockerfile.Replace("\\\n", " ", StringComparison.Ordinal);
        var line = Assert.Single(joined.Split('\n'), l => l.StartsWith("RUN dotnet publish", StringComparison.Ordinal));
        Assert.DoesNotContain('"', line);
        Assert.DoesNotContain('\'', line);
        return line["RUN ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The runtime stage's ENV settings.</summary>
    private static Dictionary<string, string> RuntimeSettings()
    {
        var runtime = Dockerfile[Dockerfile.LastIndexOf("FROM ", StringComparison.Ordinal)..];
        return DotnetSetting().Matches(runtime).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string directory, Dictionary<string, string> environment, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} {string.Join(' ', args)} ran past {limit}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"^ENTRYPOINT \[""([^""]+)""", RegexOptions.Multiline)]
    private static partial Regex EntryPointLine();

    [GeneratedRegex(@"^FROM (\S+) AS (\S+)", RegexOptions.Multiline)]
    private static partial Regex StageLine();

    [GeneratedRegex(@"((?:DOTNET|MALLOC)_[A-Za-z0-9_]+)=([^\s\\]+)")]
    private static partial Regex DotnetSetting();
}
