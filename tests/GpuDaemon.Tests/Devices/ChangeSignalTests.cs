using GpuDaemon.Devices;

namespace GpuDaemon.Tests.Devices;

public sealed class ChangeSignalTests
{
    [Fact]
    public void Notify_NobodyWaiting_AllocatesNothing()
    {
        var signal = new ChangeSignal();
        signal.Notify();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            signal.Notify();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, signal.Version);
    }

    [Fact]
    public async Task WaitForChangeAsync_NotifiedAfterQuietNotifies_Completes()
    {
        var signal = new ChangeSignal();
        signal.Notify();
        var seen = signal.Version;

        var waiting = signal.WaitForChangeAsync(seen, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        signal.Notify();

        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(seen + 1, signal.Version);
    }

    [Fact]
    public async Task WaitForChangeAsync_TwoWaitersOneNotify_BothWoken()
    {
        var signal = new ChangeSignal();
        var first = signal.WaitForChangeAsync(0, CancellationToken.None);
        var second = signal.WaitForChangeAsync(0, CancellationToken.None);

        signal.Notify();

        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void WaitForChangeAsync_VersionAlreadyPast_CompletedAtOnce()
    {
        var signal = new ChangeSignal();
        signal.Notify();

        Assert.True(signal.WaitForChangeAsync(0, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task WaitForChangeAsync_Cancelled_CancelsOnlyThatWaiter()
    {
        var signal = new ChangeSignal();
        using var cancel = new CancellationTokenSource();
        var cancelled = signal.WaitForChangeAsync(0, cancel.Token);
        var other = signal.WaitForChangeAsync(0, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(other.IsCompleted);
        signal.Notify();
        await other.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
