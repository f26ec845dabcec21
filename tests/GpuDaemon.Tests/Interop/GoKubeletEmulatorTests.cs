using System.Diagnostics;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Interop;

/// <summary>
/// <c>gpudaemon serve --simulate 8</c> against the grpc-go kubelet emulator (tests/interop): registration,
/// device list, preferred allocation, allocation, and re-registration after 10 kubelet restarts in a row.
/// </summary>
public sealed class GoKubeletEmulatorTests
{
    [Theory]
    [InlineData("")]
    [InlineData("--pre-start-required --replicas 2")]
    public async Task Serve_AgainstGoKubelet_EveryStepAndTenRestartsPass(string extraServeArgs)
    {
        var serveArgs = extraServeArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var binary = await GoInteropPeer.GetBinaryAsync();
        using var dir = new TempDirectory();
        var expected = serveArgs.Contains("--replicas") ? "16" : "8";
        using var kubelet = Process.Start(GoInteropPeer.StartInfo(binary, "kubelet", "--dir", dir.Path, "--expect-devices", expected, "--allocate", "2", "--restarts", "10"))!;
        kubelet.StandardInput.Close();
        var stderr = kubelet.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var listening = await kubelet.StandardOutput.ReadLineAsync(timeout.Token);
        Assert.StartsWith("LISTENING ", listening, StringComparison.Ordinal);

        await using var serve = await ServeProcess.StartAsync(8, dir.Path, serveArgs);
        var report = await kubelet.StandardOutput.ReadToEndAsync(timeout.Token);
        await kubelet.WaitForExitAsync(timeout.Token);

        Assert.True(kubelet.ExitCode == 0, $"kubelet emulator reported failures:\n{report}\n{await stderr}");
        Assert.Contains("PASS allocate", report, StringComparison.Ordinal);
        Assert.Contains("PASS restart-10", report, StringComparison.Ordinal);
        Assert.Contains(" 0 failed", report, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", report, StringComparison.Ordinal);
    }
}
