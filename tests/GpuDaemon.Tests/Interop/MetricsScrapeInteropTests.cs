using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Interop;

/// <summary>
/// The benchmark's scrape figure (tests/bench/run.sh) end to end on a small node: the real <c>gpudaemon serve</c>
/// attributes pods from the grpc-go pod-resources server's generated pods file, and the grpc-go scrape client
/// measures it and counts the pods it names.
/// </summary>
public sealed partial class MetricsScrapeInteropTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Scrape_ServeWithGoPodResourcesFile_NamesEveryPodHoldingAReplica()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        var socket = dir.File("pod-resources.sock");
        string gpu0 = DefaultScenario.UuidFor(0), gpu1 = DefaultScenario.UuidFor(1);
        await File.WriteAllLinesAsync(dir.File("pods.txt"),
        [
            "# two pods share GPU 0, one holds GPU 1, one holds no GPU",
            $"ml/a/main=nvidia.com/gpu:{gpu0}::0",
            $"ml/b/main=nvidia.com/gpu:{gpu0}::1",
            string.Empty,
            $"ml/c/main=nvidia.com/gpu:{gpu1}::0",
            "web/cpu-only/main",
        ]);
        using var podResources = Process.Start(GoInteropPeer.StartInfo(binary, "podresources", "--socket", socket, "--pods-file", dir.File("pods.txt")))!;
        var podResourcesErr = podResources.StandardError.ReadToEndAsync();
        try
        {
            Assert.Equal($"LISTENING {socket}", await ReadLineAsync(podResources));
            using var plugins = new TempDirectory();
            using var serve = DaemonProcess.Start("serve", "--simulate", "2", "--replicas", "2", "--metrics-listen", "127.0.0.1:0",
                "--pod-resources-socket", socket, "--device-plugin-dir", plugins.Path, "--log-level", "information");
            var url = await MetricsUrlAsync(serve);

            var (exit, stdout, stderr) = await RunAsync(binary, "scrape", "--url", url, "--expect-pods", "3", "--scrapes", "5", "--warmup", "1");

            Assert.True(exit == 0, $"scrape exited {exit}: {stderr}");
            var line = Assert.Single(stdout.Split('\n'), l => l.StartsWith("SCRAPE ", StringComparison.Ordinal));
            Assert.Equal("5", Field(line, "scrapes"));
            Assert.Equal("true", Field(line, "gzip"));
            Assert.Equal("3", Field(line, "pods"));
            Assert.Equal("0", Field(line, "errors"));
            Assert.True(long.Parse(Field(line, "wire_bytes"), CultureInfo.InvariantCulture) < long.Parse(Field(line, "bytes"), CultureInfo.InvariantCulture), "the gzip body is smaller than its text: " + line);
            Assert.True(double.Parse(Field(line, "p50_ms"), CultureInfo.InvariantCulture) <= double.Parse(Field(line, "p99_ms"), CultureInfo.InvariantCulture), line);

            var (plainExit, plainOut, plainErr) = await RunAsync(binary, "scrape", "--url", url, "--gzip=false", "--scrapes", "2", "--warmup", "0");
            Assert.True(plainExit == 0, $"scrape without gzip exited {plainExit}: {plainErr}");
            var plain = Assert.Single(plainOut.Split('\n'), l => l.StartsWith("SCRAPE ", StringComparison.Ordinal));
            Assert.Equal(Field(plain, "bytes"), Field(plain, "wire_bytes"));
        }
        finally
        {
            podResources.StandardInput.Close();
            using var timeout = new CancellationTokenSource(Wait);
            await podResources.WaitForExitAsync(timeout.Token);
        }

        Assert.True(podResources.ExitCode == 0, "grpc-go pod-resources server exited with " + podResources.ExitCode + ": " + await podResourcesErr);
    }

    [Fact]
    public async Task Scrape_ExpectedPodsNeverNamed_FailsNamingWhatItSaw()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start("serve", "--simulate", "1", "--metrics-listen", "127.0.0.1:0", "--pod-resources-socket", "",
            "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var url = await MetricsUrlAsync(serve);

        var (exit, stdout, stderr) = await RunAsync(binary, "scrape", "--url", url, "--expect-pods", "1", "--timeout", "1s", "--scrapes", "1");

        Assert.Equal(1, exit);
        Assert.DoesNotContain("SCRAPE ", stdout, StringComparison.Ordinal);
        Assert.Contains("named 1 pods within 1s (the last scrape named 0 pods)", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PodResources_BadPodsFileLine_UsageError()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        await File.WriteAllLinesAsync(dir.File("pods.txt"), ["ml/a/main=nvidia.com/gpu"]);

        var (exit, _, stderr) = await RunAsync(binary, "podresources", "--socket", dir.File("s.sock"), "--pods-file", dir.File("pods.txt"));

        Assert.Equal(2, exit);
        Assert.Contains("want NAMESPACE/POD/CONTAINER[=RESOURCE:ID[,ID...]]", stderr, StringComparison.Ordinal);
    }

    private static async Task<string> MetricsUrlAsync(DaemonProcess serve)
    {
        await serve.WaitForStderrAsync("Serving metrics on http://", 1, Wait);
        var line = serve.Stderr.First(l => l.Contains("Serving metrics on http://", StringComparison.Ordinal));
        return ServingAt().Match(line).Groups[1].Value + "/metrics";
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string binary, params string[] args)
    {
        using var process = Process.Start(GoInteropPeer.StartInfo(binary, args))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Wait);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string Field(string line, string key) =>
        line.Split(' ').Select(part => part.Split('=', 2)).First(kv => kv[0] == key)[1];

    private static async Task<string?> ReadLineAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(Wait);
        return await process.StandardOutput.ReadLineAsync(timeout.Token);
    }

    [GeneratedRegex(@"Serving metrics on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingAt();
}
