using GpuDaemon.Cli.Settings;
using GpuDaemon.Devices.Simulated;

namespace GpuDaemon.Cli.Hosting;

internal enum BackendKind
{
    Simulated,
    Nvml,
}

/// <summary>Which device backend to use and how. Read once at start: a reload does not swap the GPUs' source.</summary>
internal sealed record GpuBackendOptions(BackendKind Backend, int? SimulateCount, string? SimulationFile, string DriverRoot)
{
    public const string BackendSetting = "backend";
    public const string SimulateSetting = "simulate";
    public const string SimulationSetting = "simulation";
    public const string DriverRootSetting = "driver-root";

    /// <summary>GPUs simulated when the simulated backend is chosen without saying how many.</summary>
    public const int DefaultSimulatedGpus = 8;

    /// <summary>The one place that decides the backend from settings.</summary>
    public static GpuBackendOptions Bind(DaemonSettings settings, BackendKind defaultBackend)
    {
        var count = settings.GetInt(SimulateSetting, 0, DefaultScenario.MaxGpus);
        var file = settings.GetString(SimulationSetting);
        if (count is not null && file is not null)
        {
            throw new UsageException($"{settings.Find(SimulateSetting)!.Origin} and {settings.Find(SimulationSetting)!.Origin} both choose simulated GPUs; give one of them");
        }

        var simulating = count is not null || file is not null;
        var backendName = settings.GetChoice(BackendSetting, simulating ? "simulated" : Name(defaultBackend), "simulated", "nvml");
        var backend = backendName == "nvml" ? BackendKind.Nvml : BackendKind.Simulated;
        if (backend == BackendKind.Nvml && simulating)
        {
            var simulation = settings.Find(SimulateSetting) ?? settings.Find(SimulationSetting)!;
            throw new UsageException($"{settings.Find(BackendSetting)!.Origin} asks for nvml but {simulation.Origin} asks for simulated GPUs; drop one");
        }

        if (backend == BackendKind.Simulated && !simulating)
        {
            count = DefaultSimulatedGpus;
        }

        return new GpuBackendOptions(backend, count, file, settings.GetString(DriverRootSetting, GpuDaemonDefaults.DriverRoot));
    }

    public static string Name(BackendKind kind) => kind == BackendKind.Nvml ? "nvml" : "simulated";
}
