using GpuDaemon.Cli;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

public sealed class ServeCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>Replaces the file whole, as a ConfigMap update does, so the watcher never reads it half-written.</summary>
    private static async Task WriteConfigAsync(string path, string content)
    {
        await File.WriteAllTextAsync(path + ".tmp", content);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    [Fact]
    public async Task Serve_CancelledAfterRegistering_RemovesSocketAndExitsZero()
    {
        using var dir = new TempDirectory();
        await using var kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        await using var serve = await ServeProcess.StartAsync(2, dir.Path);

        var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);

        Assert.Equal(ExitCodes.Ok, await serve.StopAsync());
        Assert.False(File.Exists(Path.Combine(dir.Path, plugin.Endpoint)));
        await kubelet.WaitForAsync("nvidia.com/gpu", p => p.StreamEnded, Wait);
    }

    [Fact]
    public async Task Serve_NoKubeletThenCancelled_KeepsRetryingThenStopsCleanly()
    {
        await using var serve = await ServeProcess.StartAsync(2);

        Assert.False(serve.HasExited);

        Assert.Equal(ExitCodes.Ok, await serve.StopAsync());
        Assert.False(File.Exists(serve.PluginSocket));
    }

    [Fact]
    public async Task Serve_ConfigFileEdited_ReRegistersWithNewOptions()
    {
        using var dir = new TempDirectory();
        var config = dir.File("gpudaemon.yaml");
        await WriteConfigAsync(config, "simulate: 2\npreStartRequired: false\n");
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        await using var serve = await ServeProcess.StartWithArgsAsync(plugins, "--config", config);
        var before = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);
        Assert.False(before.Options.PreStartRequired);

        await WriteConfigAsync(config, "simulate: 2\npreStartRequired: true\n");
        var after = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.Options.PreStartRequired && p.HealthyCount == 2, Wait);

        Assert.Equal(ExitCodes.Ok, await serve.StopAsync());
        Assert.NotSame(before, after);
    }

    [Fact]
    public async Task Serve_MigStrategyTheGpusCannotSatisfy_OneLineAndExitTwo()
    {
        using var dir = new TempDirectory();
        var scenario = dir.File("scenario.json");
        GpuDaemon.Devices.Simulated.ScenarioReader.WriteFile(scenario, Gpus.Scenario(2, s => Gpus.EnableMig(s.Gpus[1], "1g.10gb")));

        var result = await CliRunner.RunAsync("serve", "--simulation", scenario, "--mig-strategy", "single", "--device-plugin-dir", dir.Path, "--log-level", "error");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Equal($"gpudaemon: mig-strategy single needs every GPU in MIG mode, but GPU 0 ({GpuDaemon.Devices.Simulated.DefaultScenario.UuidFor(0)}) is not; use mig-strategy mixed\n", result.Error);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.sock"));
    }
}
