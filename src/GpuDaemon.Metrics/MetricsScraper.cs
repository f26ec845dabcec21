using System.Buffers;
using GpuDaemon.Metrics.Exposition;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDaemon.Metrics;

/// <summary>
/// Runs every collector for a scrape and writes one exposition: families ordered by name, each series once.
/// Each collector runs on a worker within the budget (one that only reads memory, <see cref="IMetricsCollector.RunsInline"/>,
/// runs on the scrape's own thread); one that overruns or throws is left out of that scrape,
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

    /// <summary>The dedup set, kept between scrapes (sized by the largest family); a concurrent scrape makes its own.</summary>
    private HashSet<Sample>? _seen;

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

    /// <summary>Where the scrape's text segments come from; a test sets its own pool.</summary>
    internal ArrayPool<byte> Segments { get; init; } = ScrapeBuffer.SharedSegments;

    public IReadOnlyList<string> CollectorNames => [.. _slots.Select(s => s.Collector.Name)];

    public async Task<string> ScrapeAsync(CancellationToken cancellationToken)
    {
        using var text = await ScrapeBufferAsync(cancellationToken);
        return text.ToString();
    }

    /// <summary>
    /// The scrape as UTF-8 in pooled segments (see <see cref="ScrapeBuffer"/>), written straight from the collectors'
    /// samples: no string and nothing on the large-object heap. The caller disposes it, which returns the segments.
    /// </summary>
    public async Task<ScrapeBuffer> ScrapeBufferAsync(CancellationToken cancellationToken)
    {
        var budget = _options.CurrentValue.CollectorBudget;
        var runs = new Task<MetricsBuilder?>[_slots.Length];
        // Workers first, so they run while the inline collectors run here.
        for (var i = 0; i < _slots.Length; i++)
        {
            runs[i] = _slots[i].Collector.RunsInline ? null! : CollectAsync(_slots[i], budget, cancellationToken);
        }

        var results = new MetricsBuilder?[_slots.Length];
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Collector.RunsInline)
            {
                results[i] = CollectInline(_slots[i]);
            }
        }

        for (var i = 0; i < _slots.Length; i++)
        {
            if (!_slots[i].Collector.RunsInline)
            {
                results[i] = await runs[i];
            }
        }

        return Compose(results);
    }

    /// <summary>
    /// Merges the collectors' families and writes them: ordered by name (ordinal; for one name, in collector order,
    /// the first family's help and type kept, families of another type dropped), each series once. Synchronous, so
    /// the allocation of this step can be measured on one thread.
    /// </summary>
    internal ScrapeBuffer Compose(IReadOnlyList<MetricsBuilder?> results)
    {
        var count = 1;
        foreach (var result in results)
        {
            count += result?.Families.Count ?? 0;
        }

        var families = new (MetricFamily Family, int Index)[count];
        var n = 0;
        foreach (var result in results)
        {
            foreach (var family in result?.Families ?? [])
            {
                families[n] = (family, n);
                n++;
            }
        }

        families[n] = (Errors(), n);
        Array.Sort(families, static (a, b) =>
            string.CompareOrdinal(a.Family.Name, b.Family.Name) is var byName and not 0 ? byName : a.Index.CompareTo(b.Index));

        var seen = Interlocked.Exchange(ref _seen, null) ?? new HashSet<Sample>(SampleSeriesComparer.Instance);
        var output = new ScrapeBuffer(Segments);
        try
        {
            for (var i = 0; i < families.Length;)
            {
                var first = families[i].Family;
                var end = i + 1;
                while (end < families.Length && string.Equals(families[end].Family.Name, first.Name, StringComparison.Ordinal))
                {
                    end++;
                }

                TextExposition.WriteFamily(output, first.Name, first.Help, first.Type, Distinct(families.AsSpan(i, end - i), seen));
                i = end;
            }

            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            seen.Clear();
            Volatile.Write(ref _seen, seen);
        }
    }

    /// <summary>
    /// The samples of one name's families, each series once. The common case (one family, no repeats) is that
    /// family's own list, checked with the reused set and not copied.
    /// </summary>
    private static List<Sample> Distinct(ReadOnlySpan<(MetricFamily Family, int Index)> group, HashSet<Sample> seen)
    {
        seen.Clear();
        var first = group[0].Family;
        if (group.Length == 1)
        {
            var repeated = false;
            foreach (var sample in first.Samples)
            {
                if (!seen.Add(sample))
                {
                    repeated = true;
                    break;
                }
            }

            if (!repeated)
            {
                return first.Samples;
            }

            seen.Clear();
        }

        var merged = new List<Sample>(first.Samples.Count);
        foreach (var (family, _) in group)
        {
            if (family.Type != first.Type)
            {
                continue;
            }

            foreach (var sample in family.Samples)
            {
                if (seen.Add(sample))
                {
                    merged.Add(sample);
                }
            }
        }

        return merged;
    }

    private MetricFamily Errors()
    {
        var errors = new MetricFamily(ScrapeErrorsName, "Scrapes in which a collector was left out because it overran its time budget or failed", MetricType.Counter);
        foreach (var slot in _slots)
        {
            errors.Samples.Add(new Sample(string.Empty, slot.Labels, Interlocked.Read(ref slot.Errors)));
        }

        return errors;
    }

    private MetricsBuilder? CollectInline(Slot slot)
    {
        try
        {
            var builder = new MetricsBuilder();
            slot.Collector.Collect(builder);
            Recovered(slot);
            return builder;
        }
        catch (Exception ex)
        {
            Failed(slot, $"it failed: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
            return null;
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
        public readonly LabelSet Labels = new(new Label("collector", collector.Name));
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
