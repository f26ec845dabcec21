using GpuDaemon.Devices;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// A hosted background loop that feeds a collector: started once, stopped and disposed once, and reported on
/// <c>/healthz</c> (<see cref="ILoopStatus"/>) when it fails or ends while the process still runs.
/// </summary>
internal abstract class MetricsLoop(string loopName, string description) : IHostedService, ILoopStatus, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private volatile bool _started;
    private int _disposed;

    public string LoopName => loopName;

    public string? LoopProblem => _loop switch
    {
        { IsFaulted: true } loop => $"the {description} failed: {loop.Exception?.InnerException?.Message.ReplaceLineEndings(" ")}",
        { IsCompleted: true } when _started && !_stopping.IsCancellationRequested => $"the {description} ended",
        _ => null,
    };

    protected CancellationToken Stopping => _stopping.Token;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Start();
        _started = true;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once per registration that resolves to it.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }

    /// <summary>Does what must happen before start returns, then runs the loop on a worker until <see cref="Stopping"/>.</summary>
    protected abstract Task Start();
}
