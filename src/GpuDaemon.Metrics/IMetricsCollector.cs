namespace GpuDaemon.Metrics;

/// <summary>
/// Writes samples at scrape time. Add one to the service collection (<c>AddSingleton&lt;IMetricsCollector, …&gt;</c>)
/// and every scrape calls it, on a worker thread, within <see cref="MetricsOptions.CollectorBudget"/>: a collector
/// that overruns is left out of that scrape and counted in <c>gpudaemon_scrape_errors_total{collector}</c>.
/// At most one call per collector runs at a time; scrapes that arrive meanwhile share its result.
/// </summary>
public interface IMetricsCollector
{
    /// <summary>Short, unique, stable; the value of the <c>collector</c> label.</summary>
    string Name { get; }

    /// <summary>Writes this collector's samples. May block (a GPU library call); should not take longer than the budget.</summary>
    void Collect(MetricsBuilder metrics);
}
