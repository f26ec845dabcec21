using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>Builds the device backend the settings chose. Nothing else in GpuDaemon picks one.</summary>
public static class BackendFactory
{
    public static IGpuBackend Create(DeviceSourceSettings source, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("GpuDaemon.Devices");
        return source.Backend switch
        {
            BackendKind.Simulated when source.SimulationFile is { } file => SimulatedBackend.FromFile(file, timeProvider, logger),
            BackendKind.Simulated => SimulatedBackend.FromCount(source.SimulateCount ?? DeviceSourceSettings.DefaultSimulatedGpus, timeProvider, logger),
            _ => throw new DeviceBackendException(
                "the NVML backend is not in this build yet; use --simulate N or --simulation FILE for simulated GPUs"),
        };
    }
}
