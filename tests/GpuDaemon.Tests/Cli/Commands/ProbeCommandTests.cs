using System.Text.Json;
using GpuDaemon.Cli;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

public sealed class ProbeCommandTests
{
    [Fact]
    public async Task Probe_AgainstServeSimulateEight_PrintsOptionsDevicesPreferredAndAllocation()
    {
        await using var serve = await ServeProcess.StartAsync(8);

        var result = await CliRunner.RunAsync("probe", "--socket", serve.PluginSocket, "--allocate", "2");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("Options  pre_start_required=false get_preferred_allocation_available=true", result.Output, StringComparison.Ordinal);
        Assert.Contains("Devices  8 (8 healthy)", result.Output, StringComparison.Ordinal);
        Assert.Contains($"{DefaultScenario.UuidFor(7)}  Healthy    1", result.Output, StringComparison.Ordinal);
        Assert.Contains($"Preferred for 2: {DefaultScenario.UuidFor(0)}, {DefaultScenario.UuidFor(1)}", result.Output, StringComparison.Ordinal);
        Assert.Contains($"env     NVIDIA_VISIBLE_DEVICES={DefaultScenario.UuidFor(0)},{DefaultScenario.UuidFor(1)}", result.Output, StringComparison.Ordinal);
        Assert.Contains("device  /dev/nvidia1 -> /dev/nvidia1 (rw)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_Json_ParsesWithNumaZeroKept()
    {
        await using var serve = await ServeProcess.StartAsync(2);

        var result = await CliRunner.RunAsync("probe", "--socket", serve.PluginSocket, "--allocate", "1", "-o", "json");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var devices = json.RootElement.GetProperty("devices").GetProperty("devices");
        Assert.Equal("0", devices[0].GetProperty("topology").GetProperty("nodes")[0].GetProperty("ID").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("preferred").GetArrayLength());
    }

    [Fact]
    public async Task Probe_MissingSocket_OneLineHintAndExitOne()
    {
        var result = await CliRunner.RunAsync("probe", "--socket", "/nonexistent/gpudaemon.sock");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("is gpudaemon serve running?", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_MoreThanHealthy_ClearError()
    {
        await using var serve = await ServeProcess.StartAsync(2);

        var result = await CliRunner.RunAsync("probe", "--socket", serve.PluginSocket, "--allocate", "3");

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Contains("only 2 healthy devices", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_NoSocketFlag_UsageError()
    {
        var result = await CliRunner.RunAsync("probe");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--socket", result.Error, StringComparison.Ordinal);
    }
}
