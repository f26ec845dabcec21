using System.Globalization;
using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// Counts each GPU's Xid errors by code from the backend's device events, and remembers the last one.
/// Distinct codes per GPU are bounded: past <see cref="MaxCodesPerGpu"/>, further new codes are counted under
/// <c>xid="other"</c>, so a driver reporting garbage codes cannot grow the series without end.
/// </summary>
internal sealed partial class XidTracker(IGpuBackend backend, TimeProvider timeProvider, ILogger<XidTracker> logger) : MetricsLoop("metrics-xid", "Xid event loop")
{
    /// <summary>NVIDIA documents about 150 Xid codes, and a GPU sees a few in its life; 32 distinct ones per GPU is plenty.</summary>
    public const int MaxCodesPerGpu = 32;

    public const string OtherCode = "other";

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, GpuXids> _byGpu = new(StringComparer.Ordinal);

    /// <summary>Notified after every Xid recorded.</summary>
    public ChangeSignal Changed { get; } = new();

    protected override Task Start()
    {
        // Subscribed here, not on the worker, so no event published after start is missed.
        var events = backend.WatchEventsAsync(Stopping).GetAsyncEnumerator(Stopping);
        return Task.Run(() => FollowAsync(events), CancellationToken.None);
    }

    public void Record(DeviceEvent deviceEvent)
    {
        if (deviceEvent.Kind != DeviceEventKind.Xid || deviceEvent.XidCode is not { } code)
        {
            return;
        }

        lock (_gate)
        {
            if (!_byGpu.TryGetValue(deviceEvent.Uuid, out var gpu))
            {
                _byGpu[deviceEvent.Uuid] = gpu = new GpuXids();
            }

            gpu.Last = code;
            var key = code.ToString(CultureInfo.InvariantCulture);
            if (gpu.Counts.TryGetValue(key, out var count) || gpu.Counts.Count < MaxCodesPerGpu)
            {
                gpu.Counts[key] = count + 1;
            }
            else
            {
                gpu.Other++;
            }
        }

        Changed.Notify();
    }

    /// <summary>The last Xid of a GPU (null if none since start) and its counts by code, in numeric order, "other" last.</summary>
    public (int? Last, IReadOnlyList<(string Code, long Count)> Counts) Snapshot(string uuid)
    {
        lock (_gate)
        {
            if (!_byGpu.TryGetValue(uuid, out var gpu))
            {
                return (null, []);
            }

            if (gpu.Counts.Count == 0 && gpu.Other == 0)
            {
                return (gpu.Last, []); // the usual case: no Xid yet, nothing to sort or copy at every scrape
            }

            var counts = gpu.Counts
                .OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture))
                .Select(c => (c.Key, c.Value))
                .ToList();
            if (gpu.Other > 0)
            {
                counts.Add((OtherCode, gpu.Other));
            }

            return (gpu.Last, counts);
        }
    }

    private async Task FollowAsync(IAsyncEnumerator<DeviceEvent> events)
    {
        var token = Stopping;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await using (events)
                {
                    while (await events.MoveNextAsync())
                    {
                        Record(events.Current);
                    }
                }

                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.EventsFailed(logger, ex.Message.ReplaceLineEndings(" "), RetryDelay.TotalSeconds);
                try
                {
                    await Task.Delay(RetryDelay, timeProvider, token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                events = backend.WatchEventsAsync(token).GetAsyncEnumerator(token);
            }
        }
    }

    private sealed class GpuXids
    {
        public int? Last;
        public readonly Dictionary<string, long> Counts = new(StringComparer.Ordinal);
        public long Other;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 12010, Level = LogLevel.Warning, Message = "Reading device events for the Xid metrics failed ({Problem}); subscribing again in {Seconds} s")]
        public static partial void EventsFailed(ILogger logger, string problem, double seconds);
    }
}
