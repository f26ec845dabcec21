using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuDaemon.Devices.Simulated;

/// <summary>A simulated GPU's compute capability: the scenario's <c>computeCapability</c>, else one derived from its model name.</summary>
internal static partial class SimulatedComputeCapability
{
    // First match wins; names as NVML reports them (e.g. "NVIDIA H100 80GB HBM3", "Tesla V100-SXM2-16GB").
    private static readonly (Regex Model, ComputeCapability Capability)[] Known =
    [
        (Model(@"\b(GB|B)(100|200|300)\b"), new(10, 0)),
        (Model(@"\bRTX (PRO )?\d{4}.*Blackwell\b|\bRTX 50\d0\b"), new(12, 0)),
        (Model(@"\b(GH200|H100|H200|H800|H20)\b"), new(9, 0)),
        (Model(@"\b(L4|L20|L40S?|RTX 40\d0|RTX \d{4} Ada)\b"), new(8, 9)),
        (Model(@"\b(A100|A30|A800)\b"), new(8, 0)),
        (Model(@"\b(A2|A10G?|A16|A40|RTX A\d{4}|RTX 30\d0)\b"), new(8, 6)),
        (Model(@"\b(T4|RTX 20\d0|Quadro RTX \d{4})\b"), new(7, 5)),
        (Model(@"\b(V100|TITAN V)\b"), new(7, 0)),
        (Model(@"\bP100\b"), new(6, 0)),
        (Model(@"\b(P4|P40)\b"), new(6, 1)),
    ];

    /// <summary><paramref name="configured"/> (<c>major.minor</c>) when given, else the model's, else null (unknown model).</summary>
    public static ComputeCapability? Resolve(string model, string? configured) =>
        configured is null ? ForModel(model) : Parse(configured);

    public static ComputeCapability? ForModel(string model) =>
        Known.FirstOrDefault(k => k.Model.IsMatch(model)).Capability;

    /// <summary><c>9.0</c> → 9, 0; null when the text is not <c>major.minor</c> with a positive major.</summary>
    public static ComputeCapability? Parse(string text)
    {
        var parts = text.Split('.');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major) && major is > 0 and < 100
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor) && minor < 100
            ? new ComputeCapability(major, minor)
            : null;
    }

    private static Regex Model(string pattern) => new(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
}
