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
        var stderr = new StderrLines(serve);
        try
        {
            var plugin = await kubelet.WaitForAsync("nvidia.com/gpu", p => p.HealthyCount == 2, Wait);

            Signal("HUP", serve.Id);
            await stderr.WaitForAsync("Config reloaded (SIGHUP)", 1, Wait);
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

    [Fact]
    public async Task Serve_SighupWithHostileConfigs_EachRejectedInOneLineAndServingGoesOn()
    {
        using var dir = new TempDirectory();
        var plugins = Directory.CreateDirectory(dir.File("dp")).FullName;
        var config = dir.File("gpudaemon.yaml");
        await File.WriteAllTextAsync(config, "simulate: 2\nreplicas: 2\n");
        await using var kubelet = new KubeletEmulator(plugins, TimeProvider.System, TestLogging.Factory);
        await kubelet.StartAsync();
        using var serve = Process.Start(GpuDaemonProcess("serve", "--config", config, "--device-plugin-dir", plugins))!;
        var stderr = new StderrLines(serve);
        try
        {
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
                Signal("HUP", serve.Id);
                await stderr.WaitForAsync("Config change ignored (SIGHUP)", i + 1, Wait);
                Assert.False(serve.HasExited);
            }

            Assert.Same(plugin, kubelet.Find("nvidia.com/gpu"));
            Assert.DoesNotContain(stderr.All, line => line.StartsWith("   at ", StringComparison.Ordinal));
            Signal("TERM", serve.Id);
            using var timeout = new CancellationTokenSource(Wait);
            await serve.WaitForExitAsync(timeout.Token);
            Assert.Equal(ExitCodes.Ok, serve.ExitCode);
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill();
            }
        }
    }

    /// <summary>Collects a process's stderr lines and lets a test wait for the n-th line containing some text.</summary>
    private sealed class StderrLines
    {
        private readonly List<string> _lines = [];
        private readonly GpuDaemon.Devices.ChangeSignal _added = new();

        public StderrLines(Process process)
        {
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (_lines)
                {
                    _lines.Add(e.Data);
                }

                _added.Notify();
            };
            process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> All
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public async Task WaitForAsync(string text, int count, TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            while (true)
            {
                var seen = _added.Version;
                if (All.Count(l => l.Contains(text, StringComparison.Ordinal)) >= count)
                {
                    return;
                }

                try
                {
                    await _added.WaitForChangeAsync(seen, cancel.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"'{text}' did not appear {count} times; stderr so far:\n{string.Join('\n', All)}");
                }
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
