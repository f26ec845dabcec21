namespace GpuDaemon.Devices;

/// <summary>
/// A version number that waiters can await. Many quick changes wake a waiter once, which then reads
/// the latest state: that is how bursts are coalesced.
/// </summary>
public sealed class ChangeSignal
{
    private readonly Lock _gate = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
        TaskCompletionSource fired;
        lock (_gate)
        {
            _version++;
            fired = _next;
            _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        fired.SetResult();
    }

    /// <summary>Completes once the version is past <paramref name="seen"/>.</summary>
    public Task WaitForChangeAsync(long seen, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _version != seen ? Task.CompletedTask : _next.Task.WaitAsync(cancellationToken);
        }
    }
}
