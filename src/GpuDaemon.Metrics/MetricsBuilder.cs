using GpuDaemon.Metrics.Exposition;

namespace GpuDaemon.Metrics;

/// <summary>
/// What one collector writes during one scrape: samples grouped by metric name. A name keeps the help and type
/// it was first written with; a second sample of the same series is ignored, so a scrape never repeats a series.
/// </summary>
public sealed class MetricsBuilder
{
    private readonly Dictionary<string, MetricFamily> _families = new(StringComparer.Ordinal);
    private readonly List<MetricFamily> _order = [];

    internal IReadOnlyList<MetricFamily> Families => _order;

    public void Gauge(string name, string help, double value, params Label[] labels) => Add(name, help, MetricType.Gauge, string.Empty, value, labels);

    /// <summary>A counter: a value that only goes up (resets only when the process restarts).</summary>
    public void Counter(string name, string help, double value, params Label[] labels) => Add(name, help, MetricType.Counter, string.Empty, value, labels);

    /// <summary>A histogram from cumulative bucket counts; the last bound must be +Inf and its count the total.</summary>
    public void Histogram(string name, string help, IReadOnlyList<double> upperBounds, IReadOnlyList<long> cumulativeCounts, double sum, params Label[] labels)
    {
        if (upperBounds.Count != cumulativeCounts.Count || upperBounds.Count == 0 || !double.IsPositiveInfinity(upperBounds[^1]))
        {
            throw new ArgumentException($"histogram {name}: bounds and counts must pair up and end with +Inf", nameof(upperBounds));
        }

        for (var i = 0; i < upperBounds.Count; i++)
        {
            Add(name, help, MetricType.Histogram, "_bucket", cumulativeCounts[i], [.. labels, new Label("le", Exposition.TextExposition.FormatValue(upperBounds[i]))]);
        }

        Add(name, help, MetricType.Histogram, "_sum", sum, labels);
        Add(name, help, MetricType.Histogram, "_count", cumulativeCounts[^1], labels);
    }

    private void Add(string name, string help, MetricType type, string suffix, double value, Label[] labels)
    {
        if (!_families.TryGetValue(name, out var family))
        {
            family = new MetricFamily(name, help, type);
            _families[name] = family;
            _order.Add(family);
        }
        else if (family.Type != type)
        {
            throw new InvalidOperationException($"metric {name} is a {family.Type}; it cannot also be a {type}");
        }

        family.Samples.Add(new Sample(suffix, labels, value));
    }
}
