using GpuDaemon.Cli;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Cli.Commands;

public sealed class DemoCommandTests
{
    [Fact]
    public async Task Demo_Exit_NarratesRegistrationAllocationFaultRecoveryAndRestart()
    {
        var result = await CliRunner.RunAsync("demo", "--exit", "--gpus", "4", "--recovery-period", "200ms", "--log-level", "none");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Error);
        string[] expected =
        [
            "[validate] driver, CUDA vector add on every GPU, NVML/CUDA agreement, degradation: ready: driver 550.127.05, CUDA 12.4, 4 GPUs",
            "[plugin]   registered nvidia.com/gpu as gpudaemon-nvidia.com-gpu.sock",
            "[metrics]  Prometheus metrics at http://127.0.0.1:",
            "[kubelet]  4 devices advertised, 4 Healthy (NUMA 0: 2, NUMA 1: 2)",
            "the plugin prefers GPU 0 and GPU 1",
            "[plugin]   Allocate: NVIDIA_VISIBLE_DEVICES=",
            "[kubelet]  GPU 3 is Unhealthy",
            "a stale Allocate for it is refused: FailedPrecondition",
            "[kubelet]  GPU 3 is Healthy again",
            "[plugin]   re-registered",
            "[plugin]   stopped; sockets removed",
        ];
        var position = 0;
        foreach (var line in expected)
        {
            var found = result.Output.IndexOf(line, position, StringComparison.Ordinal);
            Assert.True(found >= 0, $"missing or out of order: {line}\n{result.Output}");
            position = found;
        }
    }

    [Fact]
    public async Task Demo_TooFewGpus_UsageError()
    {
        var result = await CliRunner.RunAsync("demo", "--gpus", "1");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--gpus: '1' is not a whole number from 2 to 64", result.Error, StringComparison.Ordinal);
    }
}
