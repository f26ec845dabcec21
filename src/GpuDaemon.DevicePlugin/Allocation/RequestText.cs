using System.Text;

namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>Device IDs from a request, made safe to quote in an error: short, printable, quoted.</summary>
internal static class RequestText
{
    private const int MaxLength = 80;

    public static string Quote(string id)
    {
        var builder = new StringBuilder(Math.Min(id.Length, MaxLength) + 3);
        builder.Append('"');
        foreach (var c in id.Length > MaxLength ? id[..MaxLength] : id)
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        if (id.Length > MaxLength)
        {
            builder.Append('…');
        }

        return builder.Append('"').ToString();
    }
}
