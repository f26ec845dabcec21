using GpuDaemon.Devices;
using GpuDaemon.Health;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// Counts every change of a GPU between healthy and unhealthy, by the category of the verdict it changed to.
/// Categories, not the verdict's free text, label the counter: their set is fixed, so the series are bounded.
/// </summary>
internal sealed class HealthTransitions(IGpuBackend backend, IGpuHealth health) : MetricsLoop("metrics-health", "health-transition loop")
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, bool> _lastHealthy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

    protected override Task Start()
    {
        Observe();
        return Task.Run(() => FollowAsync(Stopping), CancellationToken.None);
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
