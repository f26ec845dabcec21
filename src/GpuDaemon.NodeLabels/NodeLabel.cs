namespace GpuDaemon.NodeLabels;

/// <summary>One node label: a key as GPU Feature Discovery spells it and a valid Kubernetes label value.</summary>
public sealed record NodeLabel(string Key, string Value)
{
    public override string ToString() => Key + "=" + Value;
}

/// <summary>The labels for a node, sorted by key, and what the calculator wants an operator to know about them.</summary>
public sealed record NodeLabelSet(IReadOnlyList<NodeLabel> Labels, IReadOnlyList<string> Warnings)
{
    public string? Find(string key) => Labels.FirstOrDefault(l => string.Equals(l.Key, key, StringComparison.Ordinal))?.Value;
}
