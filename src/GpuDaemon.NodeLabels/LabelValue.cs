using System.Text;

namespace GpuDaemon.NodeLabels;

/// <summary>Kubernetes label values and key names: at most 63 characters of <c>[A-Za-z0-9._-]</c>, starting and ending alphanumeric (values may be empty).</summary>
internal static class LabelValue
{
    public const int MaxLength = 63;

    /// <summary>Each other character becomes <c>-</c>; then cut to 63 and trimmed to alphanumeric ends. May return "".</summary>
    public static string Sanitize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(IsAllowed(c) ? c : '-');
        }

        var value = builder.ToString();
        if (value.Length > MaxLength)
        {
            value = value[..MaxLength];
        }

        return value.Trim('-', '_', '.');
    }

    public static bool IsValid(string value) =>
        value.Length == 0
        || (value.Length <= MaxLength && value.All(IsAllowed) && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1]));

    private static bool IsAllowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
}
