using System.Diagnostics;
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

        using var serve = Process.Start(GpuDaemonProcess("serve", "--config", config, "--device-plugin-dir", plugins))!;
        var stderr = new List<string>();
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        serve.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stderr)
            {
                stderr.Add(e.Data);
            }

            if (e.Data.Contains("Config reloaded (SIGHUP)", StringComparison.Ordinal))
            {
                reloaded.TrySetResult();
            }
        };
        serve.BeginErrorReadLine();
        try
        {
            var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);

            Signal("HUP", serve.Id);
            await reloaded.Task.WaitAsync(Wait);
            Assert.False(serve.HasExited);

            Signal("TERM", serve.Id);
            using var timeout = new CancellationTokenSource(Wait);
            await serve.WaitForExitAsync(timeout.Token);

            Assert.Equal(ExitCodes.Ok, serve.ExitCode);
            Assert.False(File.Exists(Path.Combine(plugins, plugin.Endpoint)));
            await kubelet.WaitForAsync("nvidia.com/gpu", p => p.StreamEnded, Wait);
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill();
            }
        }
    }

    private static ProcessStartInfo GpuDaemonProcess(params string[] args)
    {
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gpudaemon.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
