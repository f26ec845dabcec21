namespace GpuDaemon.NodeLabels;

/// <summary>
/// Splits the kernel driver's version (<c>550.127.05</c>, <c>535.54</c>) as GPU Feature Discovery does for its
/// <c>cuda.driver-version.*</c> labels: two or three dot-separated parts; the revision is empty when there are two.
/// </summary>
internal static class DriverVersionLabels
{
    /// <summary>Major, minor, revision; null when the text is not <c>X.Y</c> or <c>X.Y.Z</c> of letters and digits.</summary>
    public static (string Major, string Minor, string Revision)? Split(string version)
    {
        var trimmed = version.Trim();
        var parts = trimmed.Split('.');
        if (trimmed.Length > LabelValue.MaxLength || parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0 || !p.All(char.IsAsciiLetterOrDigit)))
        {
            return null;
        }

        return (parts[0], parts[1], parts.Length == 3 ? parts[2] : string.Empty);
    }
}
