namespace GpuDaemon.Nvidia.Nvml;

/// <summary>The one-line messages a user sees when NVML does not start: what failed, where, and what to try.</summary>
internal static class NvmlMessages
{
    public static string InitFailed(NvmlException error, string libraryPath) =>
        $"NVML did not start: {error.Message}, library {libraryPath}; {InitRemedy(error.Code)}";

    public static string ListingFailed(NvmlException error, string libraryPath) =>
        $"NVML started but could not list the GPUs: {error.Message}, library {libraryPath}; check the GPUs with nvidia-smi on the node";

    public static string Lost(string uuid) =>
        $"GPU {uuid} is lost (NVML answers GPU_IS_LOST); it needs a reset or a reboot of the node before it can be read again";

    public static string UnknownGpu(string uuid) =>
        $"no GPU with UUID {uuid} on this node; 'gpudaemon devices' lists the ones NVML sees";

    private static string InitRemedy(NvmlReturn code) => code switch
    {
        NvmlReturn.DriverNotLoaded =>
            "the NVIDIA kernel module is not loaded on this node: check with nvidia-smi or lsmod on the host, or wait for the driver installer to finish",
        NvmlReturn.NoPermission =>
            "the process may not open /dev/nvidiactl and /dev/nvidia*: give the container the NVIDIA device nodes (runtimeClassName: nvidia)",
        NvmlReturn.LibRmVersionMismatch =>
            "this library does not match the kernel driver that is loaded: point --driver-root at the running driver, or reboot the node after a driver upgrade",
        NvmlReturn.GpuIsLost or NvmlReturn.ResetRequired =>
            "a GPU has fallen off the bus or needs a reset: check dmesg for Xid errors and reset the GPU or reboot the node",
        _ => "check the driver with nvidia-smi on the node",
    };
}
