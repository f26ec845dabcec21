using System.Text.Json;
using GpuDaemon.Cli;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli;

public sealed class GpuDaemonCliTests
{
    [Fact]
    public async Task RunAsync_DevicesSimulateFour_PrintsTableOfFourGpus()
    {
        var result = await CliRunner.RunAsync("devices", "--simulate", "4");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("4 GPU(s), driver 550.127.05, CUDA 12.4, backend simulated", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("IDX", lines[1], StringComparison.Ordinal);
        Assert.Equal(4, lines.Count(l => l.Contains("NVIDIA H100 80GB HBM3", StringComparison.Ordinal)));
        for (var i = 0; i < 4; i++)
        {
            Assert.Contains(lines, l => l.StartsWith($"{i} ", StringComparison.Ordinal) && l.Contains(DefaultScenario.UuidFor(i), StringComparison.Ordinal));
        }

        Assert.All(lines.Skip(2), l => Assert.EndsWith("Healthy", l, StringComparison.Ordinal));
        Assert.Equal(string.Empty, result.Error);
    }

    [Fact]
    public async Task RunAsync_DevicesJson_ParsesWithEveryField()
    {
        var result = await CliRunner.RunAsync("devices", "--simulate", "2", "--output", "json");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        var gpus = json.RootElement.GetProperty("gpus");
        Assert.Equal(2, gpus.GetArrayLength());
        var first = gpus[0];
        Assert.Equal(DefaultScenario.UuidFor(0), first.GetProperty("device").GetProperty("uuid").GetString());
        Assert.Equal("/dev/nvidia0", first.GetProperty("device").GetProperty("deviceNode").GetString());
        Assert.True(first.GetProperty("health").GetProperty("healthy").GetBoolean());
        Assert.Equal(81559, first.GetProperty("telemetry").GetProperty("memoryTotalMiB").GetInt64());
        Assert.Equal("simulated", json.RootElement.GetProperty("backend").GetString());
    }

    [Fact]
    public async Task RunAsync_SimulationFileWithUnhealthyGpu_TableShowsReason()
    {
        using var dir = new TempDirectory();
        var scenario = DefaultScenario.Create(2);
        scenario.Gpus[1].Healthy = false;
        var path = dir.File("sim.json");
        await File.WriteAllTextAsync(path, ScenarioReader.Serialize(scenario));

        var result = await CliRunner.RunAsync("devices", "--simulation", path);

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("Unhealthy: GPU fails its health check (healthy: false in the scenario)", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "devices", "--simulate", "abc" }, "--simulate")]
    [InlineData(new[] { "devices", "--bogus" }, "--bogus")]
    [InlineData(new[] { "devices", "--simulate", "2", "--output", "yaml" }, "yaml")]
    [InlineData(new[] { "devices", "--simulate", "99" }, "--simulate: '99' is not a whole number from 0 to 64")]
    [InlineData(new[] { "devices", "--simulate", "2", "--simulation", "x.json" }, "give one of them")]
    [InlineData(new[] { "devices", "--backend", "nvml", "--simulate", "2" }, "drop one")]
    [InlineData(new[] { "nosuchcommand" }, "nosuchcommand")]
    public async Task RunAsync_BadUsage_OneLineOnStderrAndExitTwo(string[] args, string expected)
    {
        var result = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.StartsWith("gpudaemon: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output);
    }

    [Fact]
    public async Task RunAsync_BrokenSimulationFile_OneLineNamingFileAndExitOne()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sim.json");
        await File.WriteAllTextAsync(path, "{\"gpus\": [ {\"uuid\": \"GPU-a\", \"memoryMiB\": -5} ]}");

        var result = await CliRunner.RunAsync("devices", "--simulation", path);

        Assert.Equal(ExitCodes.Failure, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(path, result.Error, StringComparison.Ordinal);
        Assert.Contains("memoryMiB -5", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_EnvironmentVariable_SetsOption()
    {
        var result = await CliRunner.RunAsync(new Dictionary<string, string> { ["GPUDAEMON_SIMULATE"] = "3" }, "devices");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.StartsWith("3 GPU(s)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_FlagAndEnvironment_FlagWins()
    {
        var result = await CliRunner.RunAsync(new Dictionary<string, string> { ["GPUDAEMON_SIMULATE"] = "3" }, "devices", "--simulate", "1");

        Assert.StartsWith("1 GPU(s)", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_BadEnvironmentValue_ErrorNamesVariable()
    {
        var result = await CliRunner.RunAsync(new Dictionary<string, string> { ["GPUDAEMON_SIMULATE"] = "many" }, "devices");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("environment variable GPUDAEMON_SIMULATE: 'many'", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ConfigFile_SetsOptionsBelowEnvironment()
    {
        using var dir = new TempDirectory();
        var config = dir.File("config.yaml");
        await File.WriteAllTextAsync(config, "simulate: 2\noutput: json\n");

        var fromFile = await CliRunner.RunAsync("devices", "--config", config);
        var envOverFile = await CliRunner.RunAsync(new Dictionary<string, string> { ["GPUDAEMON_OUTPUT"] = "table" }, "devices", "--config", config);

        Assert.Equal(ExitCodes.Ok, fromFile.ExitCode);
        Assert.Equal(2, JsonDocument.Parse(fromFile.Output).RootElement.GetProperty("gpus").GetArrayLength());
        Assert.StartsWith("2 GPU(s)", envOverFile.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ConfigFileFromEnvironment_Used()
    {
        using var dir = new TempDirectory();
        var config = dir.File("config.yaml");
        await File.WriteAllTextAsync(config, "simulate: 5\n");

        var result = await CliRunner.RunAsync(new Dictionary<string, string> { ["GPUDAEMON_CONFIG"] = config }, "devices");

        Assert.StartsWith("5 GPU(s)", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulate: \"2\n", "is not valid YAML at line")]
    [InlineData("simulat: 2\n", "line 1: unknown setting 'simulat'")]
    [InlineData("- 2\n", "must be a mapping")]
    [InlineData("simulate:\n  count: 2\n", "'simulate' must be a single value")]
    public async Task RunAsync_BrokenConfigFile_OneLineNamingFileAndProblem(string content, string expected)
    {
        using var dir = new TempDirectory();
        var config = dir.File("config.yaml");
        await File.WriteAllTextAsync(config, content);

        var result = await CliRunner.RunAsync("devices", "--config", config);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(config, result.Error, StringComparison.Ordinal);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_MissingConfigFile_ErrorNamesPath()
    {
        var result = await CliRunner.RunAsync("devices", "--config", "/nonexistent/gpudaemon.yaml");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("/nonexistent/gpudaemon.yaml", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Version_PrintsVersion()
    {
        var result = await CliRunner.RunAsync("--version");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Output);
    }

    [Fact]
    public async Task RunAsync_DevicesHelp_ListsOptionsWithEnvironmentNames()
    {
        var result = await CliRunner.RunAsync("devices", "--help");

        Assert.Equal(ExitCodes.Ok, result.ExitCode);
        Assert.Contains("--simulate", result.Output, StringComparison.Ordinal);
        Assert.Contains("--simulation", result.Output, StringComparison.Ordinal);
        Assert.Contains("--output", result.Output, StringComparison.Ordinal);
        Assert.Contains("GPUDAEMON_CONFIG", result.Output, StringComparison.Ordinal);
    }
}
