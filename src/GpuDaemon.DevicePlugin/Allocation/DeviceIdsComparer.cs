namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>Device-ID lists compared element by element, ordinally, without copying them.</summary>
internal sealed class DeviceIdsComparer : IEqualityComparer<IReadOnlyList<string>>
{
    public static readonly DeviceIdsComparer Instance = new();

    public bool Equals(IReadOnlyList<string>? x, IReadOnlyList<string>? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }

        if (x is null || y is null || x.Count != y.Count)
        {
            return false;
        }

        for (var i = 0; i < x.Count; i++)
        {
            if (!string.Equals(x[i], y[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(IReadOnlyList<string> ids)
    {
        var hash = new HashCode();
        for (var i = 0; i < ids.Count; i++)
        {
            hash.Add(ids[i], StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }
}
