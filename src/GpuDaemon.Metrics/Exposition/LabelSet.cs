namespace GpuDaemon.Metrics.Exposition;

/// <summary>
/// The labels of one series, in order, with their text-format form (<c>{a="x",b="y"}</c>, escaped, UTF-8) written
/// once and kept. A collector that writes the same labels on many series (a GPU's labels on each of its fields)
/// builds one set and reuses it, across scrapes too while the labels do not change, so a scrape copies those
/// bytes instead of escaping and encoding every label of every sample.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>
{
    public static readonly LabelSet Empty = new([]);

    private readonly Label[] _labels;
    private readonly int _hash;
    private byte[]? _encoded;

    public LabelSet(params ReadOnlySpan<Label> labels)
    {
        _labels = labels.ToArray();
        var hash = new HashCode();
        foreach (var label in _labels)
        {
            hash.Add(label);
        }

        _hash = hash.ToHashCode();
    }

    public ReadOnlySpan<Label> Labels => _labels;

    public int Count => _labels.Length;

    public Label this[int index] => _labels[index];

    /// <summary>This set followed by more labels (a histogram's <c>le</c>, a container's pod labels).</summary>
    public LabelSet With(params ReadOnlySpan<Label> more)
    {
        var all = new Label[_labels.Length + more.Length];
        _labels.CopyTo(all, 0);
        more.CopyTo(all.AsSpan(_labels.Length));
        return new LabelSet(all);
    }

    /// <summary>
    /// <c>{name="value",…}</c> as UTF-8 with values escaped; empty when there are no labels. Written on first use;
    /// two threads racing here write equal bytes, so either result may be kept.
    /// </summary>
    internal ReadOnlySpan<byte> Encoded => _encoded ??= TextExposition.EncodeLabels(_labels);

    public bool Equals(LabelSet? other) =>
        ReferenceEquals(this, other) || (other is not null && other._hash == _hash && _labels.AsSpan().SequenceEqual(other._labels));

    public override bool Equals(object? obj) => obj is LabelSet other && Equals(other);

    public override int GetHashCode() => _hash;
}
