namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>Device nodes a container needs beside its GPUs, added when they exist on the host.</summary>
internal static class ControlDevices
{
    public static readonly IReadOnlyList<string> Paths =
        ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"];

    /// <summary>The control devices present under <paramref name="devRoot"/> (the host's root as seen here).</summary>
    public static IReadOnlyList<string> Present(string devRoot) =>
        Paths.Where(p => Path.Exists(Path.Combine(devRoot, p.TrimStart('/')))).ToList();
}
