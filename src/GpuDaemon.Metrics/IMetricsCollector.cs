namespace GpuDaemon.Metrics;

/// <summary>
/// Writes samples at scrape time. Add one to the service collection (<c>AddSingleton&lt;IMetricsCollector, …&gt;</c>)
/// and every scrape calls it, on a worker thread (unless <see cref="RunsInline"/>), within <see cref="MetricsOptions.CollectorBudget"/>: a collector
/// that overruns is left out of that scrape and counted in <c>gpudaemon_scrape_errors_total{collector}</c>.
/// At most one call per collector runs at a time; scrapes that arrive meanwhile share its result.
/// </summary>
public interface IMetricsCollector
{
    /// <summary>Short, unique, stable; the value of the <c>collector</c> label.</summary>
    string Name { get; }

    /// <summary>Writes this collector's samples. May block (a GPU library call); should not take longer than the budget.</summary>
    void Collect(MetricsBuilder metrics);

    /// <summary>
    /// True when <see cref="Collect"/> only reads this process's own state and cannot block: it then runs on the
    /// scrape's own thread, without a worker, a budget timer or a thread hop (those are what a scrape's tail is
    /// made of on a busy node). False (the default) for anything that calls a GPU library or waits.
    /// </summary>
    bool RunsInline => false;
}
