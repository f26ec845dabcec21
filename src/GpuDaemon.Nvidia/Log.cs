using GpuDaemon.Devices;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia;

/// <summary>Every log line of the NVIDIA backends; event ids 9001-9099 are theirs and stay stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "NVML {NvmlVersion} from {LibraryPath}: driver {DriverVersion}, CUDA {CudaVersion}, {GpuCount} GPUs")]
    public static partial void NvmlStarted(ILogger logger, string? nvmlVersion, string libraryPath, string driverVersion, string cudaVersion, int gpuCount);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "GPU {Index} left out of the inventory: {Problem}")]
    public static partial void GpuSkipped(ILogger logger, uint index, string problem);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, Message = "GPU {Uuid}: a counter could not be read: {Problem}")]
    public static partial void CounterUnreadable(ILogger logger, string uuid, string problem);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "No NVML health events ({Problem}); GPUs are only probed")]
    public static partial void EventsUnavailable(ILogger logger, string problem);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "GPU {Uuid} sends no health events ({Problem}); it is only probed")]
    public static partial void GpuEventsUnavailable(ILogger logger, string uuid, string problem);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Warning, Message = "Waiting for NVML events failed: {Problem}; trying again")]
    public static partial void EventWaitFailed(ILogger logger, string problem);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Warning, Message = "NVML device event: {DeviceEvent}")]
    public static partial void DeviceEventRaised(ILogger logger, DeviceEvent deviceEvent);

    [LoggerMessage(EventId = 9008, Level = LogLevel.Error, Message = "Handling an NVML event failed")]
    public static partial void WatcherFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 9009, Level = LogLevel.Debug, Message = "NVML event of type {EventType} for a device not in the inventory; ignored")]
    public static partial void EventForUnknownDevice(ILogger logger, ulong eventType);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Warning, Message = "NVML shutdown incomplete: {Problem}")]
    public static partial void ShutdownIncomplete(ILogger logger, string problem);

    [LoggerMessage(EventId = 9011, Level = LogLevel.Warning, Message = "GPU {Uuid}: NVLink topology not read: {Problem}")]
    public static partial void TopologyUnreadable(ILogger logger, string uuid, string problem);

    [LoggerMessage(EventId = 9012, Level = LogLevel.Warning, Message = "GPU {Uuid}: MIG state not read: {Problem}")]
    public static partial void MigUnreadable(ILogger logger, string uuid, string problem);

    [LoggerMessage(EventId = 9013, Level = LogLevel.Warning, Message = "NVML version information not read: {Problem}")]
    public static partial void VersionUnreadable(ILogger logger, string problem);
}
