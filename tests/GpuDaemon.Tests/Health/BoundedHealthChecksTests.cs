using GpuDaemon.Devices;
using GpuDaemon.Health;

namespace GpuDaemon.Tests.Health;

public sealed class BoundedHealthChecksTests
{
    [Fact]
    public async Task Start_CheckHangs_OneThreadPerGpuHungReportedOnceThenLateAnswerDelivered()
    {
        using var release = new ManualResetEventSlim();
        var calls = 0;
        var checks = new BoundedHealthChecks(_ => { Interlocked.Increment(ref calls); release.Wait(); return HealthProbe.Ok; }, TimeSpan.FromMilliseconds(50));
        var answered = new TaskCompletionSource<TimeSpan?>(TaskCreationOptions.RunContinuationsAsynchronously);
        checks.Answered += (_, _, _, late) => answered.TrySetResult(late);

        var first = checks.Start("GPU-a");
        var second = checks.Start("GPU-a");

        Assert.Same(first, second);
        Assert.True(checks.WaitFoundHung(first));
        Assert.False(checks.WaitFoundHung(second));
        Assert.Equal(1, checks.Running);
        release.Set();
        Assert.NotNull(await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, checks.Running);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Start_LookJoinedByFullCheck_AnswerCountsInFull()
    {
        using var release = new ManualResetEventSlim();
        var checks = new BoundedHealthChecks(_ => { release.Wait(); return HealthProbe.Ok; }, TimeSpan.FromSeconds(10));
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        checks.Answered += (_, _, faultsOnly, _) => answered.TrySetResult(faultsOnly);

        checks.Start("GPU-a", faultsOnly: true);
        var joined = checks.Start("GPU-a");
        release.Set();

        Assert.False(checks.WaitFoundHung(joined));
        Assert.False(await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Start_JoinedWhileRunning_ChecksAgainAndAnswersOnlyWithTheFreshResult()
    {
        using var release = new ManualResetEventSlim();
        var calls = 0;
        var checks = new BoundedHealthChecks(_ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                release.Wait();
                return HealthProbe.Failed("looked before the GPU recovered");
            }

            return HealthProbe.Ok;
        }, TimeSpan.FromSeconds(10));
        var answers = new List<HealthProbe>();
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        checks.Answered += (_, probe, _, _) =>
        {
            lock (answers)
            {
                answers.Add(probe);
            }

            answered.TrySetResult();
        };

        checks.Start("GPU-a", faultsOnly: true);
        var joined = checks.Start("GPU-a");
        release.Set();

        Assert.False(checks.WaitFoundHung(joined));
        await answered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([HealthProbe.Ok], answers);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Start_CheckThrows_AnsweredAsFailedWithTheMessage()
    {
        var checks = new BoundedHealthChecks(_ => throw new InvalidOperationException("driver said no\nsecond line"), TimeSpan.FromSeconds(10));
        var answered = new TaskCompletionSource<HealthProbe>(TaskCreationOptions.RunContinuationsAsynchronously);
        checks.Answered += (_, probe, _, _) => answered.TrySetResult(probe);

        checks.Start("GPU-a");

        Assert.Equal(HealthProbe.Failed("driver said no second line"), await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
