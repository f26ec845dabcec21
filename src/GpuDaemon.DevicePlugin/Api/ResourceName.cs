using System.Text.RegularExpressions;

namespace GpuDaemon.DevicePlugin.Api;

/// <summary>Extended resource names as the kubelet validates them: <c>domain/name</c>.</summary>
public static partial class ResourceName
{
    public const string DefaultGpu = "nvidia.com/gpu";

    /// <summary>Null if the kubelet would accept <paramref name="resource"/>, else why not.</summary>
    public static string? Validate(string resource)
    {
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash != resource.LastIndexOf('/') || slash == resource.Length - 1)
        {
            return $"resource name '{resource}' must look like domain/name, e.g. {DefaultGpu}";
        }

        var domain = resource[..slash];
        var name = resource[(slash + 1)..];
        if (domain.Length > 253 || !DnsSubdomain().IsMatch(domain))
        {
            return $"resource name '{resource}': domain '{domain}' must be a lowercase DNS subdomain";
        }

        if (domain == "kubernetes.io" || domain.EndsWith(".kubernetes.io", StringComparison.Ordinal))
        {
            return $"resource name '{resource}': the kubernetes.io domain is reserved for Kubernetes itself";
        }

        if (name.Length > 63 || !QualifiedName().IsMatch(name))
        {
            return $"resource name '{resource}': name '{name}' must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
        }

        return null;
    }

    /// <summary>A socket file name for a resource: <c>gpudaemon-nvidia.com-gpu.sock</c>.</summary>
    public static string SocketFileName(string resource) =>
        "gpudaemon-" + resource.Replace('/', '-') + ".sock";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    [GeneratedRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex QualifiedName();
}
