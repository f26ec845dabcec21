using System.Threading.Channels;

namespace GpuDaemon.Devices;

/// <summary>
/// Fans items out to any number of subscribers, each with its own queue, so a slow reader never
/// holds up the publisher or the other readers. A subscriber receives every item published after
/// its enumerator was created (not after its first MoveNextAsync), so nothing falls in between.
/// </summary>
public sealed class Broadcast<T>
{
    /// <summary>
    /// Items kept for a subscriber that falls behind; past this the oldest are dropped. Readers need the latest
    /// inventory, and an event storm (a GPU raising 1,000 Xids a second) changes nothing after its first events:
    /// bounded, a stalled reader costs a fixed amount of memory instead of growing without end.
    /// </summary>
    public const int MaxQueuedPerSubscriber = 1024;

    private readonly Lock _gate = new();
    private readonly List<Channel<T>> _subscribers = [];

    public int SubscriberCount
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public void Publish(T item)
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(item);
            }
        }
    }

    /// <summary>Yields <paramref name="first"/> (if any), then every item published after enumeration begins.</summary>
    public IAsyncEnumerable<T> SubscribeAsync(Func<T>? first, CancellationToken cancellationToken) =>
        new Subscription(this, first, cancellationToken);

    private Channel<T> Add(Func<T>? first)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(MaxQueuedPerSubscriber)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        });
        lock (_gate)
        {
            _subscribers.Add(channel);
            if (first is not null)
            {
                channel.Writer.TryWrite(first());
            }
        }

        return channel;
    }

    private void Remove(Channel<T> channel)
    {
        lock (_gate)
        {
            _subscribers.Remove(channel);
        }
    }

    private sealed class Subscription(Broadcast<T> owner, Func<T>? first, CancellationToken subscribeToken) : IAsyncEnumerable<T>
    {
        public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            new Subscriber(owner, owner.Add(first), CancellationTokenSource.CreateLinkedTokenSource(subscribeToken, cancellationToken));
    }

    private sealed class Subscriber(Broadcast<T> owner, Channel<T> channel, CancellationTokenSource cancellation) : IAsyncEnumerator<T>
    {
        public T Current { get; private set; } = default!;

        public async ValueTask<bool> MoveNextAsync()
        {
            while (await channel.Reader.WaitToReadAsync(cancellation.Token))
            {
                if (channel.Reader.TryRead(out var item))
                {
                    Current = item;
                    return true;
                }
            }

            return false;
        }

        public ValueTask DisposeAsync()
        {
            owner.Remove(channel);
            cancellation.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
