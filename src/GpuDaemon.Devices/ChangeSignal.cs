namespace GpuDaemon.Devices;

/// <summary>
/// A version number that waiters can await. Many quick changes wake a waiter once, which then reads
/// the latest state: that is how bursts are coalesced.
/// </summary>
public sealed class ChangeSignal
{
    private readonly Lock _gate = new();
    // Created only when someone waits: a signal raised on a hot path (every Allocate) costs no allocation while nobody listens.
    private TaskCompletionSource? _next;
    private long _version;

    public long Version
    {
        get
        {
            lock (_gate)
            {
                return _version;
            }
        }
    }

    public void Notify()
    {
        TaskCompletionSource? fired;
        lock (_gate)
        {
            _version++;
            fired = _next;
            _next = null;
        }

        fired?.SetResult();
    }

    /// <summary>Completes once the version is past <paramref name="seen"/>.</summary>
    public Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_version != seen)
            {
                return Task.CompletedTask;
            }

            _next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _next.Task.WaitAsync(cancellationToken);
        }
    }
}
