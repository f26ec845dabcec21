using System.Globalization;
using GpuDaemon.Devices;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Validation.Targets;

namespace GpuDaemon.Validation;

/// <summary>Where the validator looks: the node's real driver, or a simulation scenario. Each run opens it afresh.</summary>
public abstract record ValidationSource
{
    internal abstract IValidationTarget Open();
}

/// <summary>The node's NVIDIA driver: kernel module files under <see cref="HostRoot"/>, device nodes under <see cref="DevRoot"/>'s <c>dev/</c>, libraries for <see cref="DriverRoot"/>.</summary>
public sealed record NativeValidationSource(string DriverRoot, string HostRoot, string DevRoot) : ValidationSource
{
    internal override IValidationTarget Open() => new NativeValidationTarget(this);
}

/// <summary>Simulated GPUs: the scenario is loaded again for every run, so a file edited (or installed) between runs is seen.</summary>
public sealed record SimulatedValidationSource(Func<SimulationScenario> Load, string Description) : ValidationSource
{
    /// <summary>N default GPUs (<c>--simulate N</c>).</summary>
    public static SimulatedValidationSource FromCount(int count) =>
        new(() => DefaultScenario.Create(count), string.Create(CultureInfo.InvariantCulture, $"{count} simulated GPUs"));

    /// <summary>A scenario file (<c>--simulation FILE</c>); a file that cannot be read or parsed is a <see cref="DeviceBackendException"/>.</summary>
    public static SimulatedValidationSource FromFile(string path) => new(() => ReadFile(path), path);

    internal override IValidationTarget Open() => new SimulatedValidationTarget(Load(), Description);

    private static SimulationScenario ReadFile(string path)
    {
        string text;
        try
        {
            if (!FileChangeMonitor.TryReadAllText(path, SimulatedBackend.MaxScenarioFileBytes, out text))
            {
                throw new DeviceBackendException($"simulation file {path} is larger than {ByteSizes.Format(SimulatedBackend.MaxScenarioFileBytes)}, the most GpuDaemon reads; check the path");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DeviceBackendException($"cannot read simulation file {path}: {ex.Message.TrimEnd('.')}. Check the path, or use --simulate N for N default GPUs.", ex);
        }

        return ScenarioReader.Parse(text, path);
    }
}
