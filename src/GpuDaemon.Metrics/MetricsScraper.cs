using System.Text;
using GpuDaemon.Metrics.Exposition;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics;

/// <summary>
/// Runs every collector for a scrape and writes one exposition: families ordered by name, each series once.
/// Each collector runs on a worker within the budget; one that overruns or throws is left out of that scrape,
/// counted in <c>gpudaemon_scrape_errors_total</c>, and logged when it starts failing and when it recovers,
/// not at every scrape. A collector still running from an earlier scrape is not started again: later scrapes
/// wait for the same run, so a hung GPU library holds at most one thread per collector.
/// </summary>
internal sealed partial class MetricsScraper
{
    public const string ScrapeErrorsName = "gpudaemon_scrape_errors_total";

    private readonly Slot[] _slots;
    private readonly IOptionsMonitor<MetricsOptions> _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public MetricsScraper(IEnumerable<IMetricsCollector> collectors, IOptionsMonitor<MetricsOptions> options, TimeProvider timeProvider, ILogger<MetricsScraper> logger)
    {
        _slots = [.. collectors.Select(c => new Slot(c))];
        var duplicate = _slots.GroupBy(s => s.Collector.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"two metrics collectors are named {duplicate.Key}; collector names must be unique");
        }

        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public IReadOnlyList<string> CollectorNames => [.. _slots.Select(s => s.Collector.Name)];

    public async Task<string> ScrapeAsync(CancellationToken cancellationToken) => (await ScrapeTextAsync(cancellationToken)).ToString();

    /// <summary>
    /// The scrape as text in a <see cref="StringBuilder"/>: its chunks are small, so a large scrape is written out
    /// piece by piece without one large string (which would land on the large-object heap at every scrape).
    /// </summary>
    public async Task<StringBuilder> ScrapeTextAsync(CancellationToken cancellationToken)
    {
        var budget = _options.CurrentValue.CollectorBudget;
        var runs = _slots.Select(slot => CollectAsync(slot, budget, cancellationToken)).ToList();
        var results = await Task.WhenAll(runs);

        var merged = new SortedDictionary<string, (MetricFamily Family, HashSet<Sample> Keys)>(StringComparer.Ordinal);
        foreach (var family in results.Where(r => r is not null).SelectMany(r => r!.Families))
        {
            Merge(merged, family);
        }

        var errors = new MetricFamily(ScrapeErrorsName, "Scrapes in which a collector was left out because it overran its time budget or failed", MetricType.Counter);
        foreach (var slot in _slots)
        {
            errors.Samples.Add(new Sample(string.Empty, [new Label("collector", slot.Collector.Name)], Interlocked.Read(ref slot.Errors)));
        }

        Merge(merged, errors);
        var text = new StringBuilder();
        TextExposition.Write(text, merged.Values.Select(v => v.Family));
        return text;
    }

    private static void Merge(SortedDictionary<string, (MetricFamily Family, HashSet<Sample> Keys)> merged, MetricFamily family)
    {
        if (!merged.TryGetValue(family.Name, out var into))
        {
            into = (new MetricFamily(family.Name, family.Help, family.Type), new HashSet<Sample>(SampleSeriesComparer.Instance));
            merged[family.Name] = into;
        }

        if (into.Family.Type != family.Type)
        {
            return;
        }

        foreach (var sample in family.Samples)
        {
            if (into.Keys.Add(sample))
            {
                into.Family.Samples.Add(sample);
            }
        }
    }

    private async Task<MetricsBuilder?> CollectAsync(Slot slot, TimeSpan budget, CancellationToken cancellationToken)
    {
        Task<MetricsBuilder> run;
        lock (slot)
        {
            if (slot.Running is not { IsCompleted: false })
            {
                slot.Running = Task.Run(() =>
                {
                    var builder = new MetricsBuilder();
                    slot.Collector.Collect(builder);
                    return builder;
                }, CancellationToken.None);
            }

            run = slot.Running;
        }

        try
        {
            var result = await run.WaitAsync(budget, _timeProvider, cancellationToken);
            Recovered(slot);
            return result;
        }
        catch (TimeoutException)
        {
            Failed(slot, $"it took longer than its budget of {budget.TotalMilliseconds:0} ms; it is left out of scrapes until it answers");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            Failed(slot, $"it failed: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
        }

        return null;
    }

    private void Failed(Slot slot, string problem)
    {
        Interlocked.Increment(ref slot.Errors);
        if (Interlocked.Exchange(ref slot.Failing, 1) == 0)
        {
            Log.CollectorFailing(_logger, slot.Collector.Name, problem);
        }
    }

    private void Recovered(Slot slot)
    {
        if (Interlocked.Exchange(ref slot.Failing, 0) == 1)
        {
            Log.CollectorRecovered(_logger, slot.Collector.Name);
        }
    }

    private sealed class Slot(IMetricsCollector collector)
    {
        public readonly IMetricsCollector Collector = collector;
        public Task<MetricsBuilder>? Running;
        public long Errors;
        public int Failing;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 12001, Level = LogLevel.Warning, Message = "Metrics collector {Collector} is left out of this scrape: {Problem}; counted in gpudaemon_scrape_errors_total, not logged again until it recovers")]
        public static partial void CollectorFailing(ILogger logger, string collector, string problem);

        [LoggerMessage(EventId = 12002, Level = LogLevel.Information, Message = "Metrics collector {Collector} answers within its budget again")]
        public static partial void CollectorRecovered(ILogger logger, string collector);
    }
}
