using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace GpuDaemon.Devices;

/// <summary>
/// Fans items out to any number of subscribers, each with its own queue, so a slow reader never
/// holds up the publisher or the other readers.
/// </summary>
public sealed class Broadcast<T>
{
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

    /// <summary>Yields <paramref name="first"/> (if any), then every item published after the call.</summary>
    public async IAsyncEnumerable<T> SubscribeAsync(Func<T>? first, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _subscribers.Add(channel);
            if (first is not null)
            {
                channel.Writer.TryWrite(first());
            }
        }

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken))
            {
                while (channel.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }
}
