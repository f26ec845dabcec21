using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Metrics.Collectors;

/// <summary>
/// The .NET runtime's own counters (the ones behind its System.Runtime event counters): allocation, garbage
/// collections and their pauses, JIT compilation, thread-pool size. Each is one cheap call at scrape time.
/// </summary>
internal sealed class RuntimeCollector : IMetricsCollector
{
    private static readonly string[] Generations = ["0", "1", "2"];

    public string Name => "runtime";

    /// <summary>In-memory counters and verdicts only: never blocks.</summary>
    public bool RunsInline => true;

    public void Collect(MetricsBuilder metrics)
    {
        metrics.Counter("dotnet_gc_allocated_bytes_total", "Bytes the process has allocated on the managed heap since start.", GC.GetTotalAllocatedBytes(precise: false));
        for (var generation = 0; generation < Generations.Length; generation++)
        {
            metrics.Counter("dotnet_gc_collections_total", "Garbage collections since start, by the generation collected.", GC.CollectionCount(generation),
                new Label("generation", Generations[generation]));
        }

        metrics.Counter("dotnet_gc_pause_seconds_total", "Time the garbage collector has paused the process since start, seconds.", GC.GetTotalPauseDuration().TotalSeconds);
        metrics.Gauge("dotnet_gc_committed_bytes", "Memory the garbage collector has committed, bytes.", GC.GetGCMemoryInfo().TotalCommittedBytes);
        metrics.Counter("dotnet_jit_compilation_seconds_total", "Time spent compiling methods just in time since start, seconds.", System.Runtime.JitInfo.GetCompilationTime().TotalSeconds);
        metrics.Counter("dotnet_jit_methods_total", "Methods compiled just in time since start (a method recompiled at a higher tier counts again).", System.Runtime.JitInfo.GetCompiledMethodCount());
        metrics.Gauge("dotnet_threadpool_threads", "Threads in the runtime's thread pool.", ThreadPool.ThreadCount);
    }
}
