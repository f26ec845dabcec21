using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using GpuDaemon.Devices;

namespace GpuDaemon.DevicePlugin;

/// <summary>How an Allocate call ended, as the kubelet saw it.</summary>
public enum AllocateResult
{
    Ok,

    /// <summary>Refused: unknown or repeated device IDs, too many devices (gRPC INVALID_ARGUMENT).</summary>
    InvalidArgument,

    /// <summary>Refused: a device is unhealthy or gone (gRPC FAILED_PRECONDITION).</summary>
    FailedPrecondition,

    /// <summary>Anything else that failed while answering.</summary>
    Failed,
}

/// <summary>One resource's Allocate calls that ended one way.</summary>
public sealed record AllocationCount(string Resource, AllocateResult Result, long Count);

/// <summary>A histogram's state: cumulative counts per upper bound (the last is +Inf), the sum and the count.</summary>
public sealed record DurationHistogram(IReadOnlyList<double> UpperBounds, IReadOnlyList<long> CumulativeCounts, double SumSeconds, long Count);

/// <summary>When the first registration was accepted, and how much JIT compiling the process had done by then.</summary>
public sealed record FirstRegistration(DateTimeOffset At, TimeSpan JitTime, long JittedMethods)
{
    /// <summary>How long after the process started it came.</summary>
    public TimeSpan SinceProcessStart => At - ProcessStart.Time;
}

/// <summary>
/// What the device plugin has done since start, for metrics: registrations, Allocate calls by result, and
/// their durations. Updated on the serving path without locks; read at scrape time.
/// </summary>
public sealed class PluginActivity
{
    /// <summary>Upper bounds of the Allocate duration histogram in seconds: an Allocate takes well under a millisecond, a slow one tens.</summary>
    public static readonly IReadOnlyList<double> DurationBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private readonly ConcurrentDictionary<(string Resource, AllocateResult Result), StrongBox<long>> _allocations = new();
    private readonly long[] _buckets = new long[DurationBounds.Count + 1];
    private long _durationTicksSum;
    private long _registrations;
    private FirstRegistration? _firstRegistration;

    /// <summary>Notified after every Allocate, whatever its result (pod attribution refreshes on it).</summary>
    public ChangeSignal Allocated { get; } = new();

    /// <summary>Successful registrations with the kubelet, over all resources, since start.</summary>
    public long Registrations => Interlocked.Read(ref _registrations);

    /// <summary>The runtime's state when the first registration was accepted; null before that.</summary>
    public FirstRegistration? FirstRegistration => Volatile.Read(ref _firstRegistration);

    /// <summary>Counts a registration; returns the snapshot it took when this was the process's first, else null.</summary>
    public FirstRegistration? RecordRegistration()
    {
        if (Interlocked.Increment(ref _registrations) != 1)
        {
            return null;
        }

        var first = new FirstRegistration(DateTimeOffset.UtcNow, System.Runtime.JitInfo.GetCompilationTime(), System.Runtime.JitInfo.GetCompiledMethodCount());
        Volatile.Write(ref _firstRegistration, first);
        return first;
    }

    public void RecordAllocate(string resource, AllocateResult result, TimeSpan duration)
    {
        var counter = _allocations.GetOrAdd((resource, result), static _ => new StrongBox<long>());
        Interlocked.Increment(ref counter.Value);
        var seconds = duration.TotalSeconds;
        var bucket = 0;
        while (bucket < DurationBounds.Count && seconds > DurationBounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Add(ref _durationTicksSum, duration.Ticks);
        Allocated.Notify();
    }

    /// <summary>Every (resource, result) seen, ordered by resource then result.</summary>
    public IReadOnlyList<AllocationCount> Allocations() =>
        [.. _allocations
            .Select(p => new AllocationCount(p.Key.Resource, p.Key.Result, Interlocked.Read(ref p.Value.Value)))
            .OrderBy(a => a.Resource, StringComparer.Ordinal)
            .ThenBy(a => a.Result)];

    /// <summary>The duration histogram now; its count is the sum of its buckets, so the two always agree.</summary>
    public DurationHistogram AllocateDurations()
    {
        var cumulative = new long[_buckets.Length];
        long running = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            running += Interlocked.Read(ref _buckets[i]);
            cumulative[i] = running;
        }

        return new DurationHistogram([.. DurationBounds, double.PositiveInfinity], cumulative,
            TimeSpan.FromTicks(Interlocked.Read(ref _durationTicksSum)).TotalSeconds, running);
    }

}
