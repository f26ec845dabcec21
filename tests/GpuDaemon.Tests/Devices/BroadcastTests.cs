using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices;

public sealed class BroadcastTests
{
    [Fact]
    public async Task Publish_SubscriberFallsFarBehind_KeepsOnlyTheNewestItems()
    {
        var broadcast = new Broadcast<int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var stalled = broadcast.SubscribeAsync(null, cts.Token).GetAsyncEnumerator(cts.Token);
        var total = Broadcast<int>.MaxQueuedPerSubscriber * 5;

        for (var i = 0; i < total; i++)
        {
            broadcast.Publish(i);
        }

        Assert.True(await stalled.MoveNextAsync());
        Assert.Equal(total - Broadcast<int>.MaxQueuedPerSubscriber, stalled.Current);
        var received = 1;
        while (stalled.Current != total - 1)
        {
            Assert.True(await stalled.MoveNextAsync());
            received++;
        }

        Assert.Equal(Broadcast<int>.MaxQueuedPerSubscriber, received);
    }

    [Fact]
    public async Task Publish_TwoSubscribers_EachGetsEveryItemAfterTheirFirst()
    {
        var broadcast = new Broadcast<int>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var a = broadcast.SubscribeAsync(() => 0, cts.Token).GetAsyncEnumerator(cts.Token);
        var b = broadcast.SubscribeAsync(null, cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await a.MoveNextAsync());
        Assert.Equal(0, a.Current);
        var bNext = b.MoveNextAsync();
        await WaitForSubscribers(broadcast, 2);

        broadcast.Publish(1);
        broadcast.Publish(2);

        Assert.True(await a.MoveNextAsync());
        Assert.Equal(1, a.Current);
        Assert.True(await bNext);
        Assert.Equal(1, b.Current);
        Assert.True(await b.MoveNextAsync());
        Assert.Equal(2, b.Current);
        await a.DisposeAsync();
        await b.DisposeAsync();
        Assert.Equal(0, broadcast.SubscriberCount);
    }

    [Fact]
    public async Task SubscribeAsync_Cancelled_EndsWithoutLeakingSubscriber()
    {
        var broadcast = new Broadcast<int>();
        using var cts = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var unused in broadcast.SubscribeAsync(null, cts.Token))
            {
            }
        });
        await WaitForSubscribers(broadcast, 1);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        Assert.Equal(0, broadcast.SubscriberCount);
    }

    private static async Task WaitForSubscribers(Broadcast<int> broadcast, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (broadcast.SubscriberCount < count)
        {
            await Task.Yield();
            cts.Token.ThrowIfCancellationRequested();
        }
    }
}
