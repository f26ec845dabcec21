using GpuDaemon.Cli;
using GpuDaemon.KubeletEmulation;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli;

/// <summary>The real process and real signals: SIGHUP reloads the config, SIGTERM ends streams and removes sockets.</summary>
public sealed class ProcessSignalTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Serve_SighupThenSigterm_ReloadsThenExitsCleanly()
    {
        using var dir = new TempDirectory();
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        var config = dir.File("gpudaemon.yaml");
        await File.WriteAllTextAsync(config, "simulate: 2\n");
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();

        using var serve = DaemonProcess.Start("serve", "--config", config, "--device-plugin-dir", plugins);
        var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);

        serve.Signal("HUP");
        await serve.WaitForStderrAsync("Config reloaded (SIGHUP)", 1, Wait);
        Assert.False(serve.HasExited);

        serve.Signal("TERM");
        await serve.WaitForExitAsync(Wait);

        Assert.Equal(ExitCodes.Ok, serve.ExitCode);
        Assert.False(File.Exists(Path.Combine(plugins, plugin.Endpoint)));
        await kubelet.WaitForAsync("nvidia.com/gpu", p => p.StreamEnded, Wait);
    }

    [Fact]
    public async Task Serve_SighupWithHostileConfigs_EachRejectedInOneLineAndServingGoesOn()
    {
        using var dir = new TempDirectory();
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        var config = dir.File("gpudaemon.yaml");
        await File.WriteAllTextAsync(config, "simulate: 2\nreplicas: 2\n");
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        using var serve = DaemonProcess.Start("serve", "--config", config, "--device-plugin-dir", plugins);
        var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 4, Wait);
        string[] hostile =
        [
            "[a, b]: 1\n",
            "simulate: 2\nprobeInterval: 1e300s\n",
            "simulate: 2\nrecoveryPeriod: 99999999999h\n",
            "simulate: " + new string('[', 30_000) + "\n",
            "# emptied by a writer caught mid-write\n",
        ];
        for (var i = 0; i < hostile.Length; i++)
        {
            await File.WriteAllTextAsync(config + ".tmp", hostile[i]);
            File.Move(config + ".tmp", config, overwrite: true);
            serve.Signal("HUP");
            await serve.WaitForStderrAsync("Config change ignored (SIGHUP)", i + 1, Wait);
            Assert.False(serve.HasExited);
        }

        Assert.Same(plugin, kubelet.Find("nvidia.com/gpu"));
        Assert.DoesNotContain(serve.Stderr, line => line.StartsWith("   at ", StringComparison.Ordinal));
        serve.Signal("TERM");
        await serve.WaitForExitAsync(Wait);
        Assert.Equal(ExitCodes.Ok, serve.ExitCode);
    }
}
