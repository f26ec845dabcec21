using GpuDaemon.Cli;
using GpuDaemon.Cli.Commands;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

/// <summary>--wait: tries again with capped, doubling pauses on the validator's clock, says why, and gives up at --timeout.</summary>
public sealed class ValidatorWaitTests
{
    [Fact]
    public async Task RunAsync_DriverAppearsMidway_WaitsThenPasses()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var clock = new ManualTimeProvider();
        var notices = new List<WaitingNotice>();
        var validator = new Validator(node.Options(new ValidationOptions { Wait = true }), node.Source, clock, TestLogging.Logger);

        var run = validator.RunAsync(notice =>
        {
            lock (notices)
            {
                notices.Add(notice);
                if (notices.Count == 3)
                {
                    node.LoadModule(); // another DaemonSet's driver container finished
                }
            }
        }, CancellationToken.None);
        await AdvanceUntilDoneAsync(clock, run);

        var outcome = await run;
        Assert.Equal(ValidationVerdict.Passed, outcome.Verdict);
        Assert.Equal(ExitCodes.Ok, ValidateCommand.ExitCode(outcome.Verdict));
        Assert.Equal([node.StatusFile(ValidationDefaults.DriverReadyFile), node.StatusFile(ValidationDefaults.CudaReadyFile)], outcome.StatusFiles);
        Assert.Equal("550.127.05", node.ReadStatus(ValidationDefaults.DriverReadyFile)[StatusFiles.DriverVersionKey]);
        Assert.Equal(node.Driver.Root, node.ReadStatus(ValidationDefaults.CudaReadyFile)[StatusFiles.DriverRootKey]);
        Assert.Equal(3, notices.Count);
        Assert.All(notices, n => Assert.StartsWith("the NVIDIA kernel module is not loaded", n.Failure.Detail, StringComparison.Ordinal));
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)], notices.Select(n => n.NextTryIn));
    }

    [Fact]
    public async Task RunAsync_NeverReady_BackoffCappedThenWaitTimedOut()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        var clock = new ManualTimeProvider();
        var notices = new List<WaitingNotice>();
        var options = node.Options(new ValidationOptions { Wait = true, WaitTimeout = TimeSpan.FromMinutes(2) });
        var validator = new Validator(options, node.Source, clock, TestLogging.Logger);

        var run = validator.RunAsync(n =>
        {
            lock (notices)
            {
                notices.Add(n);
            }
        }, CancellationToken.None);
        await AdvanceUntilDoneAsync(clock, run);

        var outcome = await run;
        Assert.Equal(ValidationVerdict.WaitTimedOut, outcome.Verdict);
        Assert.Equal(ExitCodes.WaitTimedOut, ValidateCommand.ExitCode(outcome.Verdict));
        Assert.StartsWith("still not ready after --timeout 2m; last failure at driver", outcome.Summary, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
        Assert.All(notices, n => Assert.True(n.NextTryIn <= ValidationDefaults.MaxRetryDelay));
        Assert.Contains(notices, n => n.NextTryIn == ValidationDefaults.MaxRetryDelay);
        Assert.Equal(TimeSpan.FromMinutes(2), notices.Aggregate(TimeSpan.Zero, (sum, n) => sum + n.NextTryIn));
    }

    [Fact]
    public async Task RunAsync_CuInitFailedUnderWait_EndsAtOnceWithCudaVerdictInsteadOfRetrying()
    {
        using var node = new ValidationNode("fail.cuInit = 100");
        var notices = new List<WaitingNotice>();
        var validator = new Validator(node.Options(new ValidationOptions { Wait = true }), node.Source, new ManualTimeProvider(), TestLogging.Logger);

        // The clock never moves: a validator that waited to retry would never finish.
        var outcome = await validator.RunAsync(notices.Add, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(ValidationVerdict.CudaFailed, outcome.Verdict);
        Assert.Equal(ExitCodes.CudaFailed, ValidateCommand.ExitCode(outcome.Verdict));
        Assert.Empty(notices);
        Assert.Contains("keeps a failed cuInit for the life of the process, so --wait does not retry it: the kubelet restarts the init container", outcome.Summary, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    /// <summary>Moves the clock a second at a time until the run ends (bounded, so a bug fails instead of hanging).</summary>
    private static async Task AdvanceUntilDoneAsync(ManualTimeProvider clock, Task run)
    {
        for (var i = 0; i < 10_000 && !run.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(1);
        }

        Assert.True(run.IsCompleted, "the validator did not finish");
    }
}
