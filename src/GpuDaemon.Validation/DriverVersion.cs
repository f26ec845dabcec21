using System.Globalization;

namespace GpuDaemon.Validation;

/// <summary>A dotted version such as <c>550.54.15</c> or <c>12.4</c>, compared part by part (a missing part is 0).</summary>
public sealed record DriverVersion(IReadOnlyList<int> Parts)
{
    public static bool TryParse(string? text, out DriverVersion version)
    {
        version = new DriverVersion([]);
        var pieces = (text ?? string.Empty).Trim().Split('.');
        var parts = new List<int>(pieces.Length);
        foreach (var piece in pieces)
        {
            if (piece.Length is 0 or > 9 || !piece.All(char.IsAsciiDigit))
            {
                return false;
            }

            parts.Add(int.Parse(piece, NumberStyles.None, CultureInfo.InvariantCulture));
        }

        version = new DriverVersion(parts);
        return parts.Count > 0;
    }

    /// <summary>A CUDA driver version as the driver API reports it: 12040 is 12.4.</summary>
    public static DriverVersion FromCudaNumber(int version) => new([version / 1000, version % 1000 / 10]);

    public int CompareTo(DriverVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        for (var i = 0; i < Math.Max(Parts.Count, other.Parts.Count); i++)
        {
            var compared = (i < Parts.Count ? Parts[i] : 0).CompareTo(i < other.Parts.Count ? other.Parts[i] : 0);
            if (compared != 0)
            {
                return compared;
            }
        }

        return 0;
    }

    public bool IsBelow(DriverVersion minimum) => CompareTo(minimum) < 0;

    public bool Equals(DriverVersion? other) => other is not null && CompareTo(other) == 0;

    public override int GetHashCode() => string.Join('.', Parts.Reverse().SkipWhile(p => p == 0)).GetHashCode(StringComparison.Ordinal);

    public override string ToString() => string.Join('.', Parts.Select(p => p.ToString(CultureInfo.InvariantCulture)));
}
