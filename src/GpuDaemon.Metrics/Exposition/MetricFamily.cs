namespace GpuDaemon.Metrics.Exposition;

/// <summary>One label: name and value. Names are fixed by the code; values may be anything (they are escaped).</summary>
public readonly record struct Label(string Name, string Value);

/// <summary>One line of a family: an optional name suffix (<c>_bucket</c>, <c>_sum</c>, <c>_count</c>), labels and value.</summary>
internal sealed record Sample(string Suffix, Label[] Labels, double Value);

/// <summary>Two samples are the same series when their suffix and labels are equal, in order; the value does not count.</summary>
internal sealed class SampleSeriesComparer : IEqualityComparer<Sample>
{
    public static readonly SampleSeriesComparer Instance = new();

    public bool Equals(Sample? x, Sample? y) =>
        ReferenceEquals(x, y)
        || (x is not null && y is not null && string.Equals(x.Suffix, y.Suffix, StringComparison.Ordinal) && x.Labels.AsSpan().SequenceEqual(y.Labels));

    public int GetHashCode(Sample obj)
    {
        var hash = new HashCode();
        hash.Add(obj.Suffix, StringComparer.Ordinal);
        foreach (var label in obj.Labels)
        {
            hash.Add(label);
        }

        return hash.ToHashCode();
    }
}

/// <summary>A metric name with its help, type and samples.</summary>
internal sealed class MetricFamily(string name, string help, MetricType type)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public MetricType Type { get; } = type;

    public List<Sample> Samples { get; } = [];
}
