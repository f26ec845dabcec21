namespace GpuDaemon.DevicePlugin.Allocation;

internal enum AllocationRefusal
{
    /// <summary>The request itself is wrong: no devices, an unknown or repeated ID, more replicas than allowed.</summary>
    InvalidRequest,

    /// <summary>The request is well formed, but a device it names may not be used now (unhealthy).</summary>
    DeviceUnusable,
}

/// <summary>
/// A refused Allocate or PreStartContainer, with a message for the pod's events that names the device and
/// the reason. The serving edge maps <see cref="Refusal"/> to a gRPC status.
/// </summary>
internal sealed class AllocationException : Exception
{
    public AllocationException()
    {
    }

    public AllocationException(string message)
        : base(message)
    {
    }

    public AllocationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AllocationException(AllocationRefusal refusal, string message)
        : base(message)
    {
        Refusal = refusal;
    }

    public AllocationRefusal Refusal { get; }
}
