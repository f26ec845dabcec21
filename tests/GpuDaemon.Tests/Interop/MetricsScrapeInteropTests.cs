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

        var (exit, stdout, stderr) = await RunAsync(binary, "scrape", "--url", url, "--expect-pods", "1", "--timeout", "5s", "--scrapes", "1");

        Assert.Equal(1, exit);
        Assert.DoesNotContain("SCRAPE ", stdout, StringComparison.Ordinal);
        Assert.Contains("named 1 pods within 5s (the last scrape named 0 pods)", stderr, StringComparison.Ordinal);
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

    [Fact]
    public async Task Counters_ServeRuntimeSeries_PrintsEveryDefaultSeriesAsANumber()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start("serve", "--simulate", "1", "--metrics-listen", "127.0.0.1:0", "--pod-resources-socket", "",
            "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var url = await MetricsUrlAsync(serve);

        var (firstExit, firstOut, firstErr) = await RunAsync(binary, "counters", "--url", url);
        var (secondExit, secondOut, secondErr) = await RunAsync(binary, "counters", "--url", url);

        Assert.True(firstExit == 0, $"counters exited {firstExit}: {firstErr}");
        Assert.True(secondExit == 0, $"counters exited {secondExit}: {secondErr}");
        var first = Assert.Single(firstOut.Split('\n'), l => l.StartsWith("COUNTERS ", StringComparison.Ordinal));
        var second = Assert.Single(secondOut.Split('\n'), l => l.StartsWith("COUNTERS ", StringComparison.Ordinal));
        string[] names =
        [
            "dotnet_gc_allocated_bytes_total", "dotnet_gc_collections_total", "dotnet_gc_pause_seconds_total",
            "dotnet_jit_compilation_seconds_total", "dotnet_jit_methods_total",
        ];
        Assert.Equal(names, first["COUNTERS ".Length..].Split(' ').Select(kv => kv.Split('=', 2)[0]));
        foreach (var name in names)
        {
            Assert.True(double.Parse(Field(first, name), CultureInfo.InvariantCulture) >= 0, first);
        }

        // The scrape that answered the first reading allocated, so the counter has grown by the second.
        Assert.True(double.Parse(Field(second, "dotnet_gc_allocated_bytes_total"), CultureInfo.InvariantCulture) >
            double.Parse(Field(first, "dotnet_gc_allocated_bytes_total"), CultureInfo.InvariantCulture), first + " then " + second);
    }

    [Fact]
    public async Task Counters_SeriesNotExported_FailsNamingIt()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start("serve", "--simulate", "1", "--metrics-listen", "127.0.0.1:0", "--pod-resources-socket", "",
            "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var url = await MetricsUrlAsync(serve);

        var (exit, stdout, stderr) = await RunAsync(binary, "counters", "--url", url, "--series", "dotnet_gc_pause_seconds_total,bench_no_such_series");

        Assert.Equal(1, exit);
        Assert.DoesNotContain("COUNTERS ", stdout, StringComparison.Ordinal);
        Assert.Contains("does not export bench_no_such_series", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecRegister_MetricsUrl_PrintsTheFirstRegistrationSeriesOfEachStart()
    {
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        using var labels = new TempDirectory();
        var port = FreeLoopbackPort();
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var info = GoInteropPeer.StartInfo(binary, "execreg", "--dir", dir.Path, "--rounds", "1", "--metrics-url", $"http://127.0.0.1:{port}/metrics", "--",
            host, Path.Combine(AppContext.BaseDirectory, "gpudaemon.dll"), "serve", "--simulate", "1", "--device-plugin-dir", dir.Path,
            "--metrics-listen", $"127.0.0.1:{port}", "--pod-resources-socket", string.Empty);
        info.Environment["GPUDAEMON_NODE_LABELS_DIR"] = labels.Path;
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, $"execreg exited {process.ExitCode}: {await stderr}");
        var line = Assert.Single((await stdout).Split('\n'), l => l.StartsWith("METRICS ", StringComparison.Ordinal));
        Assert.Equal("1", Field(line, "round"));
        Assert.True(double.Parse(Field(line, "gpudaemon_first_registration_seconds"), CultureInfo.InvariantCulture) > 0, line);
        Assert.True(double.Parse(Field(line, "gpudaemon_first_registration_jit_seconds"), CultureInfo.InvariantCulture) >= 0, line);
        Assert.True(double.Parse(Field(line, "gpudaemon_first_registration_jitted_methods"), CultureInfo.InvariantCulture) > 0, line);
        Assert.Contains("EXEC_REGISTERED_MS n=1 ", await stdout, StringComparison.Ordinal);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
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
