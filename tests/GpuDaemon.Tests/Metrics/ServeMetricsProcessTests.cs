using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Metrics;

/// <summary>The real <c>gpudaemon serve</c> process serves /metrics, and promtool accepts what it serves.</summary>
public sealed partial class ServeMetricsProcessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Serve_Simulate8_ServesMetricsForEveryGpu()
    {
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start("serve", "--simulate", "8", "--metrics-listen", "127.0.0.1:0", "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var address = await AddressAsync(serve);
        using var client = new HttpClient { BaseAddress = address };

        var scrape = await client.GetStringAsync("/metrics");

        Assert.Equal(8, scrape.Split('\n').Count(l => l.StartsWith("DCGM_FI_DEV_GPU_TEMP{", StringComparison.Ordinal)));
        Assert.Contains("gpudaemon_build_info{", scrape, StringComparison.Ordinal);
        Assert.Contains("gpudaemon_kubelet_registered{resource=\"nvidia.com/gpu\"} 0\n", scrape, StringComparison.Ordinal);
        Assert.Contains("process_resident_memory_bytes ", scrape, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/readyz")).StatusCode); // no kubelet here
    }

    [Theory]
    [InlineData("gpu-node-7", "Hostname", "gpu-node-7")]
    [InlineData("gpu-node-7", "hostname", "gpu-node-7")]
    [InlineData(null, "Hostname", null)]
    public async Task Serve_NodeNameVariable_HostLabelFromItElseTheHostName(string? nodeName, string hostnameLabel, string? expected)
    {
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start(
            new Dictionary<string, string?> { ["NODE_NAME"] = nodeName },
            "serve", "--simulate", "1", "--metrics-listen", "127.0.0.1:0", "--hostname-label", hostnameLabel, "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var address = await AddressAsync(serve);
        using var client = new HttpClient { BaseAddress = address };

        var scrape = await client.GetStringAsync("/metrics");

        var temperature = scrape.Split('\n').Single(l => l.StartsWith("DCGM_FI_DEV_GPU_TEMP{", StringComparison.Ordinal));
        Assert.Contains($",{hostnameLabel}=\"{expected ?? Environment.MachineName}\",", temperature, StringComparison.Ordinal);
    }

    /// <summary>
    /// promtool (Debian's prometheus package, installed by tests/run-all.sh) parses a live scrape. It must find no
    /// error; its lint findings may only be the ones dcgm-exporter compatibility implies (camelCase labels such as
    /// modelName, counters named without _total), so any other finding fails the test. Missing promtool fails too.
    /// </summary>
    [Fact]
    public async Task Serve_LiveScrape_PassesPromtoolCheckMetrics()
    {
        using var plugins = new TempDirectory();
        using var serve = DaemonProcess.Start("serve", "--simulate", "8", "--metrics-listen", "127.0.0.1:0", "--device-plugin-dir", plugins.Path, "--log-level", "information");
        var address = await AddressAsync(serve);
        using var client = new HttpClient { BaseAddress = address };
        var scrape = await client.GetStringAsync("/metrics");

        var info = new ProcessStartInfo("promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        Process promtool;
        try
        {
            promtool = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"promtool is not installed ({ex.Message}); install Debian's prometheus package (tests/run-all.sh does)");
            return;
        }

        using (promtool)
        {
            await promtool.StandardInput.WriteAsync(scrape);
            promtool.StandardInput.Close();
            var output = await promtool.StandardOutput.ReadToEndAsync() + await promtool.StandardError.ReadToEndAsync();
            await promtool.WaitForExitAsync();

            // 0: clean; 3: lint findings only; anything else (1) is a parse error.
            Assert.True(promtool.ExitCode is 0 or 3, $"promtool exited {promtool.ExitCode}: {output}");
            var unexpected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !ExpectedLint().IsMatch(line)).ToList();
            Assert.True(unexpected.Count == 0, "unexpected promtool findings:\n" + string.Join('\n', unexpected));
        }
    }

    [Fact]
    public async Task Serve_MetricsPortTaken_ExitsWithOneLineError()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var plugins = new TempDirectory();

        var (exitCode, stderr) = await DaemonProcess.RunAsync(Wait, "serve", "--simulate", "1", "--metrics-listen", $"127.0.0.1:{port}", "--device-plugin-dir", plugins.Path, "--log-level", "none");

        Assert.Equal(GpuDaemon.Cli.ExitCodes.Failure, exitCode);
        var line = Assert.Single(stderr, l => l.Length > 0);
        Assert.StartsWith($"gpudaemon: cannot serve metrics on 127.0.0.1:{port}: ", line, StringComparison.Ordinal);
        Assert.EndsWith("pick a free port with --metrics-listen, or --metrics-listen \"\" to turn metrics off", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_BadMetricsListen_UsageError()
    {
        var result = await CliRunner.RunAsync("serve", "--simulate", "1", "--metrics-listen", "localhost");

        Assert.Equal(GpuDaemon.Cli.ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--metrics-listen: \"localhost\" is not an address and port", result.Error, StringComparison.Ordinal);
    }

    private static async Task<Uri> AddressAsync(DaemonProcess serve)
    {
        await serve.WaitForStderrAsync("Serving metrics on http://", 1, Wait);
        var line = serve.Stderr.First(l => l.Contains("Serving metrics on http://", StringComparison.Ordinal));
        return new Uri(ServingAt().Match(line).Groups[1].Value);
    }

    [GeneratedRegex(@"Serving metrics on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex ServingAt();

    /// <summary>Findings that follow from dcgm-exporter's names, which existing dashboards need unchanged.</summary>
    [GeneratedRegex("""^(DCGM_FI_\w+|gpudaemon_gpu_healthy) (label names should be written in 'snake_case' not 'camelCase'|counter metrics should have "_total" suffix|metric name should not include type 'counter')$""")]
    private static partial Regex ExpectedLint();
}
