using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Cuda;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.Nvidia.Nvml;

/// <summary>The GPUs NVML lists, and the handle NVML gave each one (by UUID).</summary>
internal sealed record NvmlSnapshot(GpuInventory Inventory, IReadOnlyDictionary<string, nint> Handles);

/// <summary>
/// Reads the driver versions and every GPU NVML lists: identity, memory, PCI address, NUMA node,
/// NVLink peers and MIG partitions. A GPU whose identity cannot be read is left out with a warning;
/// a failure that concerns NVML as a whole (counting the GPUs) throws.
/// </summary>
internal sealed class NvmlInventoryReader(NvmlApi api, SysfsNumaReader numa, ILogger logger)
{
    /// <summary>The header's upper bound on NVLink links per GPU; the loop also stops where the driver says the links end.</summary>
    private const uint MaxNvLinks = 36;
    private const long BytesPerMiB = 1024 * 1024;

    public NvmlSnapshot Read()
    {
        var driver = ReadDriver();
        api.Check(api.DeviceGetCount(out var count));
        var gpus = new List<(GpuDevice Device, nint Handle, NvLinkEnds Links)>();
        for (uint index = 0; index < count; index++)
        {
            try
            {
                gpus.Add(ReadGpu(index));
            }
            catch (NvmlException ex)
            {
                Log.GpuSkipped(logger, index, ex.Message);
            }
        }

        var peers = NvLinkTopology.Peers(gpus.Select(g => g.Links).ToList());
        var devices = gpus.Select(g => g.Device with { NvLinkPeers = peers[g.Device.Uuid] }).ToList();
        var handles = gpus.ToDictionary(g => g.Device.Uuid, g => g.Handle, StringComparer.Ordinal);
        return new NvmlSnapshot(new GpuInventory(driver, devices), handles);
    }

    private DriverInfo ReadDriver()
    {
        var driverVersion = Optional(api.SystemGetDriverVersion(out var driver)) ? driver : string.Empty;
        var nvmlVersion = Optional(api.SystemGetNvmlVersion(out var nvml)) ? nvml : null;
        var cudaVersion = Optional(api.SystemGetCudaDriverVersion(out var cuda)) ? CudaDriver.FormatVersion(cuda) : string.Empty;
        return new DriverInfo(driverVersion, cudaVersion, Loaded: true) { NvmlVersion = nvmlVersion };
    }

    private (GpuDevice Device, nint Handle, NvLinkEnds Links) ReadGpu(uint index)
    {
        api.Check(api.DeviceGetHandleByIndex(index, out var handle));
        api.Check(api.DeviceGetUuid(handle, out var uuid));
        api.Check(api.DeviceGetName(handle, out var name));
        api.Check(api.DeviceGetPciInfo(handle, out var pci));
        api.Check(api.DeviceGetMinorNumber(handle, out var minor));
        api.Check(api.DeviceGetMemory(handle, out var memory));
        var busId = PciAddress.Normalize(pci.BusIdText);
        var device = new GpuDevice
        {
            Index = (int)index,
            Uuid = uuid,
            Model = name,
            MemoryMiB = (long)(memory.Total / BytesPerMiB),
            PciBusId = busId,
            MinorNumber = (int)minor,
            NumaNode = numa.Read(busId),
            Mig = ReadMig(handle, uuid),
            ComputeCapability = ReadComputeCapability(handle),
        };
        return (device, handle, new NvLinkEnds(uuid, busId, ReadNvLinkEnds(handle, uuid)));
    }

    private HashSet<string> ReadNvLinkEnds(nint handle, string uuid)
    {
        var ends = new HashSet<string>(StringComparer.Ordinal);
        for (uint link = 0; link < MaxNvLinks; link++)
        {
            var state = api.DeviceGetNvLinkState(handle, link, out var active);
            if (state.IsUnsupported || state.Code == NvmlReturn.InvalidArgument)
            {
                break; // no NVLink on this GPU, or past its last link
            }

            LostIsFatal(state);
            if (!state.IsSuccess)
            {
                Log.TopologyUnreadable(logger, uuid, api.Error(state).Message);
                break;
            }

            if (!active)
            {
                continue;
            }

            var remote = api.DeviceGetNvLinkRemotePciInfo(handle, link, out var pci);
            LostIsFatal(remote);
            if (remote.IsSuccess)
            {
                ends.Add(PciAddress.Normalize(pci.BusIdText));
            }
        }

        return ends;
    }

    private MigState ReadMig(nint handle, string uuid)
    {
        var mode = api.DeviceGetMigMode(handle, out var current, out _);
        if (mode.IsUnsupported)
        {
            return MigState.NotCapable;
        }

        LostIsFatal(mode);
        if (!mode.IsSuccess)
        {
            Log.MigUnreadable(logger, uuid, api.Error(mode).Message);
            return MigState.NotCapable;
        }

        if (current != 1)
        {
            return new MigState(Capable: true, Enabled: false, []);
        }

        var instances = new List<MigInstance>();
        var max = api.DeviceGetMaxMigDeviceCount(handle, out var slots);
        LostIsFatal(max);
        for (uint slot = 0; max.IsSuccess && slot < slots; slot++)
        {
            var found = api.DeviceGetMigDeviceHandleByIndex(handle, slot, out var mig);
            if (found.Code == NvmlReturn.NotFound)
            {
                continue; // an empty slot
            }

            try
            {
                api.Check(found);
                instances.Add(ReadMigInstance(mig));
            }
            catch (NvmlException ex) when (ex.Code != NvmlReturn.GpuIsLost)
            {
                Log.MigUnreadable(logger, uuid, ex.Message);
            }
        }

        return new MigState(Capable: true, Enabled: true, instances);
    }

    private MigInstance ReadMigInstance(nint mig)
    {
        api.Check(api.DeviceGetUuid(mig, out var uuid));
        api.Check(api.DeviceGetName(mig, out var name));
        api.Check(api.DeviceGetMemory(mig, out var memory));
        api.Check(api.DeviceGetGpuInstanceId(mig, out var gpuInstance));
        api.Check(api.DeviceGetComputeInstanceId(mig, out var computeInstance));
        return new MigInstance(uuid, MigProfile(name), (long)(memory.Total / BytesPerMiB), (int)gpuInstance, (int)computeInstance);
    }

    /// <summary>NVML names a MIG device "&lt;GPU name&gt; MIG &lt;profile&gt;"; the profile is the part after "MIG ".</summary>
    internal static string MigProfile(string migDeviceName)
    {
        const string marker = "MIG ";
        var at = migDeviceName.LastIndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? migDeviceName : migDeviceName[(at + marker.Length)..];
    }

    private void LostIsFatal(NvmlStatus status)
    {
        if (status.IsLost)
        {
            throw api.Error(status);
        }
    }

    /// <summary>Null when this driver or GPU cannot say; a lost GPU still fails the read.</summary>
    private ComputeCapability? ReadComputeCapability(nint handle)
    {
        var status = api.DeviceGetCudaComputeCapability(handle, out var major, out var minor);
        LostIsFatal(status);
        return status.IsSuccess && major > 0 ? new ComputeCapability(major, minor) : null;
    }

    private bool Optional(NvmlStatus status)
    {
        if (!status.IsSuccess && !status.IsUnsupported)
        {
            Log.VersionUnreadable(logger, api.Error(status).Message);
        }

        return status.IsSuccess;
    }
}
