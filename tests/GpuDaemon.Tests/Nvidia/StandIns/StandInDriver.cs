using GpuDaemon.Nvidia.Nvml;
using GpuDaemon.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDaemon.Tests.Nvidia.StandIns;

/// <summary>
/// A fake driver root for one test: its own copies of the stand-in libraries in usr/lib64 (a distinct
/// file is a distinct library instance, so parallel tests never share state), the scenario beside them,
/// and a sysfs tree for NUMA nodes.
/// </summary>
public sealed class StandInDriver : IDisposable
{
    /// <summary>Short, so a dispose waits little for the event thread's current wait.</summary>
    public static readonly TimeSpan EventWaitTimeout = TimeSpan.FromMilliseconds(20);

    private readonly TempDirectory _root = new();
    private StandInControl? _control;

    public StandInDriver(string scenario = "")
    {
        LibraryFolder = Path.Combine(_root.Path, "usr", "lib64");
        Directory.CreateDirectory(LibraryFolder);
        File.Copy(StandInBuild.NvmlLibrary, NvmlLibrary);
        File.Copy(StandInBuild.CudaLibrary, Path.Combine(LibraryFolder, StandInBuild.CudaFileName));
        File.WriteAllText(Path.Combine(LibraryFolder, "standin-scenario.txt"), scenario);
        SysfsRoot = Path.Combine(_root.Path, "sys");
    }

    public string Root => _root.Path;

    public string LibraryFolder { get; }

    public string NvmlLibrary => Path.Combine(LibraryFolder, StandInBuild.NvmlFileName);

    public string SysfsRoot { get; }

    /// <summary>The NVML stand-in's test controls; loading them loads the same library instance the backend uses.</summary>
    public StandInControl Control => _control ??= new StandInControl(NvmlLibrary);

    public void SetNumaNode(string sysfsDevice, string value)
    {
        var folder = Path.Combine(SysfsRoot, "bus", "pci", "devices", sysfsDevice);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "numa_node"), value + "\n");
    }

    public NvmlBackend CreateBackend(TimeProvider? timeProvider = null, ILogger? logger = null) =>
        new(
            new NvmlBackendOptions { DriverRoot = Root, SysfsRoot = SysfsRoot, EventWaitTimeout = EventWaitTimeout },
            timeProvider ?? new ManualTimeProvider(),
            logger ?? NullLogger.Instance);

    /// <summary>A started backend; dispose it before this driver.</summary>
    public async Task<NvmlBackend> StartBackendAsync(TimeProvider? timeProvider = null)
    {
        var backend = CreateBackend(timeProvider);
        await backend.StartAsync(CancellationToken.None);
        return backend;
    }

    public void Dispose() => _root.Dispose();
}
