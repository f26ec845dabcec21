using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Nvidia.Nvml;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Cli.Hosting;

/// <summary>Builds the device backend the settings chose. Nothing else in GpuDaemon picks one.</summary>
internal static class BackendFactory
{
    public static IGpuBackend Create(GpuBackendOptions source, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("GpuDaemon.Devices");
        return source.Backend switch
        {
            BackendKind.Simulated when source.SimulationFile is { } file => SimulatedBackend.FromFile(file, timeProvider, logger),
            BackendKind.Simulated => SimulatedBackend.FromCount(source.SimulateCount ?? GpuBackendOptions.DefaultSimulatedGpus, timeProvider, logger),
            BackendKind.Nvml => new NvmlBackend(new NvmlBackendOptions { DriverRoot = source.DriverRoot }, timeProvider, logger),
            _ => throw new ArgumentOutOfRangeException(nameof(source), source.Backend, "unknown device backend"),
        };
    }
}
