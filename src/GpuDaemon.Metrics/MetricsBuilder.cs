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

    public void Gauge(string name, string help, double value, params Label[] labels) => Add(name, help, MetricType.Gauge, string.Empty, value, Set(labels));

    /// <summary>A gauge on a label set the collector keeps and reuses (see <see cref="LabelSet"/>).</summary>
    public void Gauge(string name, string help, double value, LabelSet labels) => Add(name, help, MetricType.Gauge, string.Empty, value, labels);

    /// <summary>A counter: a value that only goes up (resets only when the process restarts).</summary>
    public void Counter(string name, string help, double value, params Label[] labels) => Add(name, help, MetricType.Counter, string.Empty, value, Set(labels));

    /// <summary>A counter on a label set the collector keeps and reuses (see <see cref="LabelSet"/>).</summary>
    public void Counter(string name, string help, double value, LabelSet labels) => Add(name, help, MetricType.Counter, string.Empty, value, labels);

    /// <summary>A histogram from cumulative bucket counts; the last bound must be +Inf and its count the total.</summary>
    public void Histogram(string name, string help, IReadOnlyList<double> upperBounds, IReadOnlyList<long> cumulativeCounts, double sum, params Label[] labels)
    {
        if (upperBounds.Count != cumulativeCounts.Count || upperBounds.Count == 0 || !double.IsPositiveInfinity(upperBounds[^1]))
        {
            throw new ArgumentException($"histogram {name}: bounds and counts must pair up and end with +Inf", nameof(upperBounds));
        }

        var set = Set(labels);
        for (var i = 0; i < upperBounds.Count; i++)
        {
            Add(name, help, MetricType.Histogram, "_bucket", cumulativeCounts[i], set.With(new Label("le", TextExposition.FormatValue(upperBounds[i]))));
        }

        Add(name, help, MetricType.Histogram, "_sum", sum, set);
        Add(name, help, MetricType.Histogram, "_count", cumulativeCounts[^1], set);
    }

    private static LabelSet Set(Label[] labels) => labels.Length == 0 ? LabelSet.Empty : new LabelSet(labels);

    private void Add(string name, string help, MetricType type, string suffix, double value, LabelSet labels)
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
