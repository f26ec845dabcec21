using System.Globalization;

namespace GpuDaemon.Devices.Simulated;

/// <summary>
/// N deterministic GPUs shaped like an 8-GPU HGX node: the first half on NUMA node 0, the rest on node 1,
/// NVLink within each half, MIG-capable but not partitioned. Same N, same GPUs, on every machine.
/// </summary>
public static class DefaultScenario
{
    public const int MaxGpus = 64;

    private static readonly int[] HgxBuses = [0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb];

    public static string UuidFor(int index) => string.Create(CultureInfo.InvariantCulture, $"GPU-5d3c0a1e-0000-4000-8000-{index:x12}");

    public static SimulationScenario Create(int count)
    {
        if (count < 0 || count > MaxGpus)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"simulate between 0 and {MaxGpus} GPUs");
        }

        var half = Math.Max(1, (count + 1) / 2);
        var scenario = new SimulationScenario();
        for (var i = 0; i < count; i++)
        {
            var numa = count > 1 ? i / half : 0;
            var peers = Enumerable.Range(numa * half, half)
                .Where(p => p != i && p < count)
                .Select(UuidFor)
                .ToList();
            scenario.Gpus.Add(new SimulatedGpu
            {
                Uuid = UuidFor(i),
                PciBusId = PciBusIdFor(i),
                NumaNode = numa,
                NvlinkPeers = peers,
                UtilizationPercent = (i * 37) % 100,
                MemoryUsedMiB = (i * 4096) % 81559,
                TemperatureC = 33 + (i % 5),
                PowerWatts = 70 + (i * 11 % 40),
                Mig = new SimulatedMig { Enabled = false },
            });
        }

        return scenario;
    }

    public static string PciBusIdFor(int index)
    {
        var domain = index / HgxBuses.Length;
        var bus = HgxBuses[index % HgxBuses.Length];
        return string.Create(CultureInfo.InvariantCulture, $"{domain:x8}:{bus:x2}:00.0");
    }
}
