namespace GpuDaemon.Metrics.Exposition;

/// <summary>One label: name and value. Names are fixed by the code; values may be anything (they are escaped).</summary>
public readonly record struct Label(string Name, string Value);

/// <summary>One line of a family: an optional name suffix (<c>_bucket</c>, <c>_sum</c>, <c>_count</c>), labels and value.</summary>
internal sealed record Sample(string Suffix, Label[] Labels, double Value)
{
    /// <summary>The suffix and labels as one string: two samples with the same key are the same series.</summary>
    public string Key => Suffix + "{" + string.Join(",", Labels.Select(l => l.Name + "=" + l.Value)) + "}";
}

/// <summary>A metric name with its help, type and samples.</summary>
internal sealed class MetricFamily(string name, string help, MetricType type)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public MetricType Type { get; } = type;

    public List<Sample> Samples { get; } = [];
}
