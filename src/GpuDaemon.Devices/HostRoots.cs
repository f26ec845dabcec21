namespace GpuDaemon.Devices;

/// <summary>
/// The host's root as a process running on the host sees it: the default of <c>--driver-root</c>, <c>--dev-root</c>
/// and <c>--host-root</c>, defined once for every command that takes them.
/// </summary>
public static class HostRoots
{
    public const string Default = "/";
}
