using GpuDaemon.Cli;
using GpuDaemon.DevicePlugin.Emulation;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

public sealed class ServeCommandTests
{
    [Fact]
    public async Task Serve_CancelledAfterRegistering_RemovesSocketAndExitsZero()
    {
        using var dir = new TempDirectory();
        await using var kubelet = new KubeletEmulator(dir.Path, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        using var stop = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var serve = GpuDaemonCli.RunAsync(
            ["serve", "--simulate", "2", "--device-plugin-dir", dir.Path, "--log-level", "none"],
            output, error, new DictionaryEnvironment(new Dictionary<string, string>()), stop.Token);
        var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        var exitCode = await serve.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.False(File.Exists(Path.Combine(dir.Path, plugin.Endpoint)));
        await kubelet.WaitForAsync("nvidia.com/gpu", p => p.StreamEnded, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Serve_NoKubeletThenCancelled_KeepsRetryingThenStopsCleanly()
    {
        using var dir = new TempDirectory();
        using var stop = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var socket = Path.Combine(dir.Path, "gpudaemon-nvidia.com-gpu.sock");

        var serve = GpuDaemonCli.RunAsync(
            ["serve", "--simulate", "2", "--device-plugin-dir", dir.Path, "--log-level", "none"],
            output, error, new DictionaryEnvironment(new Dictionary<string, string>()), stop.Token);
        using (var appeared = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (!File.Exists(socket))
            {
                await Task.Delay(10, appeared.Token);
            }
        }

        Assert.False(serve.IsCompleted);
        await stop.CancelAsync();
        var exitCode = await serve.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.False(File.Exists(socket));
    }

    [Fact]
    public async Task Serve_ConfigFileEdited_ReRegistersWithNewOptions()
    {
        using var dir = new TempDirectory();
        var config = dir.File("gpudaemon.yaml");
        await File.WriteAllTextAsync(config, "simulate: 2\npreStartRequired: false\n");
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        using var stop = new CancellationTokenSource();

        var serve = GpuDaemonCli.RunAsync(
            ["serve", "--config", config, "--device-plugin-dir", plugins, "--log-level", "none"],
            TextWriter.Null, TextWriter.Null, new DictionaryEnvironment(new Dictionary<string, string>()), stop.Token);
        var before = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, TimeSpan.FromSeconds(20));
        Assert.False(before.Options.PreStartRequired);

        await File.WriteAllTextAsync(config, "simulate: 2\npreStartRequired: true\n");
        var after = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.Options.PreStartRequired && p.HealthyCount == 2, TimeSpan.FromSeconds(20));

        await File.WriteAllTextAsync(config, "simulate: 2\npreStartRequired: [broken\n");
        await File.WriteAllTextAsync(config, "simulate: 2\npreStartRequired: true\nreplicas: 0\n");
        await stop.CancelAsync();
        Assert.Equal(ExitCodes.Ok, await serve.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.NotSame(before, after);
        Assert.Same(after, kubelet.Find("nvidia.com/gpu"));
    }
}
