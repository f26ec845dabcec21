namespace GpuDaemon.Devices;

/// <summary>A device-layer failure with a message fit for a user: what failed, where, and what to try.</summary>
public sealed class DeviceBackendException : Exception
{
    public DeviceBackendException()
    {
    }

    public DeviceBackendException(string message)
        : base(message)
    {
    }

    public DeviceBackendException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
