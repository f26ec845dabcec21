using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>Inventories for device-plugin tests, built from the simulated backend's default scenario.</summary>
public static class Gpus
{
    public static SimulationScenario Scenario(int count, Action<SimulationScenario>? configure = null)
    {
        var scenario = DefaultScenario.Create(count);
        configure?.Invoke(scenario);
        return scenario;
    }

    public static GpuInventory Inventory(int count, Action<SimulationScenario>? configure = null)
    {
        var backend = SimulatedBackend.FromScenario(Scenario(count, configure), TimeProvider.System, TestLogging.Logger);
        backend.StartAsync(default).GetAwaiter().GetResult();
        return backend.Inventory;
    }

    public static void EnableMig(SimulatedGpu gpu, params string[] profiles)
    {
        gpu.Mig = new SimulatedMig
        {
            Enabled = true,
            Instances = [.. profiles.Select(p => new SimulatedMigInstance { Profile = p, MemoryMiB = 9856 })],
        };
    }
}
