using System.Text.Json;
using GpuDaemon.Cli;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli;

public sealed class DevicesNvmlCommandTests
{
    private const string Scenario = """
        gpus = 2
        gpu0.nvlink = 1
        gpu1.nvlink = 0
        gpu0.util_gpu = 37
        gpu1.mig = on
        gpu1.mig_instances = 1g.10gb:9856
        """;

    [Fact]
    public async Task RunAsync_DevicesJsonOnStandIns_ListsEveryField()
    {
        using var driver = new StandInDriver(Scenario);

        var (code, output, error) = await RunAsync("devices", "--backend", "nvml", "--driver-root", driver.Root, "-o", "json");

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("nvml", root.GetProperty("backend").GetString());
        Assert.Equal("550.127.05", root.GetProperty("driver").GetProperty("version").GetString());
        Assert.Equal("12.4", root.GetProperty("driver").GetProperty("cudaVersion").GetString());
        Assert.Equal("12.550.127.05", root.GetProperty("driver").GetProperty("nvmlVersion").GetString());
        var gpus = root.GetProperty("gpus");
        Assert.Equal(2, gpus.GetArrayLength());
        var first = gpus[0];
        var device = first.GetProperty("device");
        foreach (var field in new[] { "index", "uuid", "model", "memoryMiB", "pciBusId", "minorNumber", "nvLinkPeers", "mig", "deviceNode" })
        {
            Assert.True(device.TryGetProperty(field, out _), $"device.{field} missing");
        }

        Assert.Equal("GPU-5eed0000-0000-4000-8000-000000000001", device.GetProperty("nvLinkPeers")[0].GetString());
        Assert.True(first.GetProperty("health").GetProperty("healthy").GetBoolean());
        var telemetry = first.GetProperty("telemetry");
        foreach (var field in new[]
        {
            "gpuUtilizationPercent", "memoryUtilizationPercent", "encoderUtilizationPercent", "decoderUtilizationPercent",
            "memoryUsedMiB", "memoryFreeMiB", "memoryTotalMiB", "memoryReservedMiB", "temperatureC", "powerWatts",
            "smClockMHz", "memoryClockMHz", "totalEnergyJoules", "pcieReplayCount", "eccCorrectedErrors",
            "eccUncorrectedErrors", "remappedRowsCorrectable", "remappedRowsUncorrectable",
        })
        {
            Assert.True(telemetry.TryGetProperty(field, out _), $"telemetry.{field} missing");
        }

        Assert.Equal(37, telemetry.GetProperty("gpuUtilizationPercent").GetDouble());
        Assert.Equal("1g.10gb", gpus[1].GetProperty("device").GetProperty("mig").GetProperty("instances")[0].GetProperty("profile").GetString());
    }

    [Fact]
    public async Task RunAsync_DevicesTableOnStandIns_ShowsDriverAndGpus()
    {
        using var driver = new StandInDriver(Scenario);

        var (code, output, _) = await RunAsync("devices", "--backend", "nvml", "--driver-root", driver.Root);

        Assert.Equal(0, code);
        Assert.StartsWith("2 GPU(s), driver 550.127.05, CUDA 12.4, backend nvml", output, StringComparison.Ordinal);
        Assert.Contains("GPU-5eed0000-0000-4000-8000-000000000000", output, StringComparison.Ordinal);
        Assert.Contains("1g.10gb", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_DriverRootFromEnvironment_UsesIt()
    {
        using var driver = new StandInDriver("gpus = 1");

        var (code, output, _) = await RunAsync(["devices", "--backend", "nvml"], new Dictionary<string, string> { ["GPUDAEMON_DRIVER_ROOT"] = driver.Root });

        Assert.Equal(0, code);
        Assert.StartsWith("1 GPU(s)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoLibraryUnderDriverRoot_FailsWithOneLine()
    {
        using var empty = new TempDirectory();

        var (code, output, error) = await RunAsync("devices", "--backend", "nvml", "--driver-root", empty.Path);

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gpudaemon: cannot load NVML: libnvidia-ml.so.1 is not in ", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InitFails_FailsWithOneLineNamingTheCall()
    {
        using var driver = new StandInDriver("fail.nvmlInit_v2 = 18");

        var (code, _, error) = await RunAsync("devices", "--backend", "nvml", "--driver-root", driver.Root);

        Assert.Equal(ExitCodes.Failure, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gpudaemon: NVML did not start: nvmlInit_v2 returned NVML_ERROR_LIB_RM_VERSION_MISMATCH (18", line, StringComparison.Ordinal);
        Assert.Contains("point --driver-root at the running driver", line, StringComparison.Ordinal);
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(params string[] args) => RunAsync(args, []);

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args, Dictionary<string, string> environment)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await GpuDaemonCli.RunAsync(args, output, error, new DictionaryEnvironment(environment));
        return (code, output.ToString(), error.ToString());
    }
}
