namespace GpuDaemon.Nvidia.Nvml;

/// <summary>One GPU's NVLink ends as NVML reports them: its own bus id and the bus id at the far end of each active link.</summary>
internal sealed record NvLinkEnds(string Uuid, string BusId, IReadOnlyCollection<string> RemoteBusIds);

/// <summary>
/// Turns NVLink ends into peers. Two GPUs are peers when a link of one ends at the other, or when both
/// have links ending at the same device that is not a GPU (an NVSwitch).
/// </summary>
internal static class NvLinkTopology
{
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Peers(IReadOnlyList<NvLinkEnds> gpus)
    {
        var gpuBuses = gpus.Select(g => g.BusId).ToHashSet(StringComparer.Ordinal);
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var gpu in gpus)
        {
            var switches = gpu.RemoteBusIds.Where(b => !gpuBuses.Contains(b)).ToHashSet(StringComparer.Ordinal);
            result[gpu.Uuid] = gpus
                .Where(other => !ReferenceEquals(other, gpu)
                    && (gpu.RemoteBusIds.Contains(other.BusId) || other.RemoteBusIds.Any(switches.Contains)))
                .Select(other => other.Uuid)
                .ToList();
        }

        return result;
    }
}
