namespace GpuDaemon.Metrics.Exposition;

/// <summary>One label: name and value. Names are fixed by the code; values may be anything (they are escaped).</summary>
public readonly record struct Label(string Name, string Value);

/// <summary>One line of a family: an optional name suffix (<c>_bucket</c>, <c>_sum</c>, <c>_count</c>), labels and value.</summary>
internal readonly record struct Sample(string Suffix, LabelSet Labels, double Value);

/// <summary>Two samples are the same series when their suffix and labels are equal, in order; the value does not count.</summary>
internal sealed class SampleSeriesComparer : IEqualityComparer<Sample>
{
    public static readonly SampleSeriesComparer Instance = new();

    public bool Equals(Sample x, Sample y) =>
        string.Equals(x.Suffix, y.Suffix, StringComparison.Ordinal) && x.Labels.Equals(y.Labels);

    public int GetHashCode(Sample obj) => HashCode.Combine(obj.Suffix.Length == 0 ? 0 : StringComparer.Ordinal.GetHashCode(obj.Suffix), obj.Labels.GetHashCode());
}

/// <summary>A metric name with its help, type and samples.</summary>
internal sealed class MetricFamily(string name, string help, MetricType type)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public MetricType Type { get; } = type;

    public List<Sample> Samples { get; } = [];
}
