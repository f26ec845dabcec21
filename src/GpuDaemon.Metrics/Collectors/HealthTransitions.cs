using GpuDaemon.Devices;
using GpuDaemon.Health;
using Microsoft.Extensions.Hosting;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// Counts every change of a GPU between healthy and unhealthy, by the category of the verdict it changed to.
/// Categories, not the verdict's free text, label the counter: their set is fixed, so the series are bounded.
/// </summary>
internal sealed class HealthTransitions(IGpuBackend backend, IGpuHealth health) : IHostedService, ILoopStatus, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, bool> _lastHealthy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private volatile bool _started;
    private int _disposed;

    public string LoopName => "metrics-health";

    public string? LoopProblem => _loop switch
    {
        { IsFaulted: true } loop => $"the health-transition loop failed: {loop.Exception?.InnerException?.Message.ReplaceLineEndings(" ")}",
        { IsCompleted: true } when _started && !_stopping.IsCancellationRequested => "the health-transition loop ended",
        _ => null,
    };

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Observe();
        _loop = Task.Run(() => FollowAsync(_stopping.Token), CancellationToken.None);
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

    /// <summary>Transitions so far, by category, every category listed (0 for those not seen), in the order of <see cref="HealthReasons.Categories"/>.</summary>
    public IReadOnlyList<(string Category, long Count)> Counts()
    {
        lock (_gate)
        {
            return [.. HealthReasons.Categories.Select(c => (c, _counts.GetValueOrDefault(c)))];
        }
    }

    /// <summary>Compares every GPU's verdict with the last one seen; the first sight of a GPU is not a transition.</summary>
    public void Observe()
    {
        foreach (var gpu in backend.Inventory.Gpus)
        {
            // Read under the lock: the loop and a direct call may observe at once, and a verdict read before the
            // other's newer one must not be compared after it (that would count one transition twice).
            lock (_gate)
            {
                var verdict = health.Verdict(gpu.Uuid);
                if (_lastHealthy.TryGetValue(gpu.Uuid, out var was) && was != verdict.Healthy)
                {
                    var category = HealthReasons.Category(verdict);
                    _counts[category] = _counts.GetValueOrDefault(category) + 1;
                }

                _lastHealthy[gpu.Uuid] = verdict.Healthy;
            }
        }
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var seen = health.Changed.Version;
                Observe();
                await health.Changed.WaitForChangeAsync(seen, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
