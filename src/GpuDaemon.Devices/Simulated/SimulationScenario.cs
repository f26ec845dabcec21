using System.Text.Json.Serialization;

namespace GpuDaemon.Devices.Simulated;

/// <summary>
/// The simulation file: a driver and a list of GPUs with their faults and readings. Edited while the
/// daemon runs to inject faults. The format is documented in docs/simulation.md.
/// </summary>
public sealed class SimulationScenario
{
    public SimulatedDriver Driver { get; set; } = new();

    public List<SimulatedGpu> Gpus { get; set; } = [];
}

public sealed class SimulatedDriver
{
    public string Version { get; set; } = "550.127.05";

    public string CudaVersion { get; set; } = "12.4";

    public bool Loaded { get; set; } = true;
}

public sealed class SimulatedGpu
{
    public string Uuid { get; set; } = string.Empty;

    public string Model { get; set; } = "NVIDIA H100 80GB HBM3";

    public long MemoryMiB { get; set; } = 81559;

    /// <summary>Defaults to a bus id derived from the GPU's position.</summary>
    public string? PciBusId { get; set; }

    /// <summary>Defaults to the GPU's position in the list.</summary>
    public int? MinorNumber { get; set; }

    public int? NumaNode { get; set; }

    /// <summary>UUIDs of other GPUs in the scenario this one has NVLink to.</summary>
    public List<string> NvlinkPeers { get; set; } = [];

    /// <summary>False makes the GPU fail its health probe.</summary>
    public bool Healthy { get; set; } = true;

    /// <summary>True makes the GPU behave as fallen off the bus.</summary>
    public bool Lost { get; set; }

    /// <summary>Xid codes; each one appended while the daemon runs is delivered once as an event.</summary>
    public List<int> Xid { get; set; } = [];

    public double UtilizationPercent { get; set; }

    public long MemoryUsedMiB { get; set; }

    /// <summary>Memory the driver and firmware set aside, as NVML's v2 memory info reports it; null: not reported.</summary>
    public long? MemoryReservedMiB { get; set; }

    public double TemperatureC { get; set; } = 34;

    public double PowerWatts { get; set; } = 72;

    public SimulatedMig? Mig { get; set; }

    /// <summary>How the GPU behaves under <c>gpudaemon validate</c>'s CUDA check; null: it works.</summary>
    public SimulatedCuda? Cuda { get; set; }

    /// <summary>Signs of a working but degraded GPU that <c>gpudaemon validate</c> reports; null: none.</summary>
    public SimulatedDegradation? Degradation { get; set; }

    /// <summary>Memory temperature; defaults to 6 °C above <see cref="TemperatureC"/>.</summary>
    public double? MemoryTemperatureC { get; set; }

    /// <summary>False makes the GPU one without GPU Performance Monitoring (pre-Hopper): no engine or tensor activity.</summary>
    public bool Gpm { get; set; } = true;

    /// <summary>Fraction (0–1) of time the tensor pipes are busy; defaults to half the utilization.</summary>
    public double? TensorActive { get; set; }

    public long PcieReplays { get; set; }

    public long RemappedRowsCorrectable { get; set; }

    public long RemappedRowsUncorrectable { get; set; }

    /// <summary>CUDA compute capability as <c>major.minor</c> (e.g. <c>9.0</c>); defaults to the one the model is known to have.</summary>
    public string? ComputeCapability { get; set; }
}

/// <summary>A GPU's CUDA side, for the validator: a kernel that computes garbage, a context that cannot be made, another UUID.</summary>
public sealed class SimulatedCuda
{
    /// <summary>The vector-add kernel runs but some sums come back wrong.</summary>
    public bool KernelWrongData { get; set; }

    /// <summary>Creating a CUDA context on the GPU fails.</summary>
    public bool ContextFails { get; set; }

    /// <summary>The UUID CUDA reports, when it differs from the GPU's (NVML's) one.</summary>
    public string? Uuid { get; set; }

    /// <summary>Compute processes (jobs) running on the GPU; with <see cref="ContextFails"/> the context fails for lack of memory, as on a GPU whose jobs hold it.</summary>
    public int ComputeProcesses { get; set; }

    /// <summary>The GPU's compute mode (<see cref="SimulatedComputeModes"/>); in exclusiveProcess with processes running, or prohibited, no context can be created.</summary>
    public string? ComputeMode { get; set; }
}

/// <summary>The compute modes a scenario may give under <c>cuda.computeMode</c>.</summary>
public static class SimulatedComputeModes
{
    public const string Default = "default";
    public const string ExclusiveProcess = "exclusiveProcess";
    public const string Prohibited = "prohibited";

    public static readonly IReadOnlyList<string> Known = [Default, ExclusiveProcess, Prohibited];
}

/// <summary>Degradation readings as NVML would report them; a field left out is "not reported".</summary>
public sealed class SimulatedDegradation
{
    public int? PcieLinkGeneration { get; set; }

    public int? PcieLinkGenerationMax { get; set; }

    public int? PcieLinkWidth { get; set; }

    public int? PcieLinkWidthMax { get; set; }

    public bool RemappedRowsPending { get; set; }

    public bool RemappingFailed { get; set; }

    public long VolatileUncorrectedEcc { get; set; }

    public bool RetiredPagesPending { get; set; }

    /// <summary>Active clock-event reasons by name: hwSlowdown, hwThermalSlowdown, swThermalSlowdown, hwPowerBrakeSlowdown.</summary>
    public List<string> ClockEventReasons { get; set; } = [];
}

public sealed class SimulatedMig
{
    public bool Enabled { get; set; }

    public List<SimulatedMigInstance> Instances { get; set; } = [];
}

public sealed class SimulatedMigInstance
{
    /// <summary>e.g. <c>1g.10gb</c>.</summary>
    public string Profile { get; set; } = string.Empty;

    public long MemoryMiB { get; set; }

    /// <summary>Defaults to a UUID derived from the parent GPU and the instance's position.</summary>
    public string? Uuid { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SimulationScenario))]
internal sealed partial class SimulationJsonContext : JsonSerializerContext;

/// <summary>The clock-event reason names a scenario may list under <c>degradation.clockEventReasons</c>.</summary>
public static class SimulatedDegradationReasons
{
    public const string HwSlowdown = "hwSlowdown";
    public const string HwThermalSlowdown = "hwThermalSlowdown";
    public const string SwThermalSlowdown = "swThermalSlowdown";
    public const string HwPowerBrakeSlowdown = "hwPowerBrakeSlowdown";

    public static readonly IReadOnlyList<string> Known = [HwSlowdown, HwThermalSlowdown, SwThermalSlowdown, HwPowerBrakeSlowdown];
}
