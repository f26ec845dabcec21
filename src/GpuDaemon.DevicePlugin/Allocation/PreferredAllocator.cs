using GpuDaemon.DevicePlugin.Planning;

namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>
/// Picks the devices the kubelet should prefer. Whole GPUs: the set with the most NVLink pairs, then the
/// fewest NUMA nodes, then the lowest indices. Replicas: spread over physical GPUs or pack onto one.
/// Deterministic: the same request always gets the same answer.
/// </summary>
internal static class PreferredAllocator
{
    public static IReadOnlyList<PluginDevice> Choose(IReadOnlyList<PluginDevice> available, IReadOnlyList<PluginDevice> mustInclude, int size, ReplicaPolicy policy)
    {
        var chosen = mustInclude.DistinctBy(d => d.Id).ToList();
        var candidates = available.Where(d => !chosen.Any(c => c.Id == d.Id)).ToList();
        var wanted = Math.Min(size, chosen.Count + candidates.Count);
        if (chosen.Count >= wanted)
        {
            return chosen;
        }

        return candidates.Any(d => d.Replica is not null)
            ? ChooseReplicas(chosen, candidates, wanted, policy)
            : ChooseByTopology(chosen, candidates, wanted);
    }

    private static List<PluginDevice> ChooseByTopology(List<PluginDevice> chosen, List<PluginDevice> candidates, int wanted)
    {
        List<PluginDevice>? best = null;
        (int Links, int NumaNodes, int IndexSum) bestScore = default;
        IEnumerable<PluginDevice?> seeds = chosen.Count > 0 ? new PluginDevice?[] { null } : candidates;
        foreach (var seed in seeds)
        {
            var set = new List<PluginDevice>(chosen);
            if (seed is not null)
            {
                set.Add(seed);
            }

            while (set.Count < wanted)
            {
                set.Add(candidates
                    .Where(c => !set.Contains(c))
                    .OrderByDescending(c => set.Count(s => Linked(s, c)))
                    .ThenByDescending(c => set.Count(s => s.NumaNode == c.NumaNode))
                    .ThenBy(c => c.Gpu.Index)
                    .ThenBy(c => c.Id, StringComparer.Ordinal)
                    .First());
            }

            var score = Score(set);
            if (best is null || Better(score, bestScore))
            {
                best = set;
                bestScore = score;
            }
        }

        return best!;
    }

    private static List<PluginDevice> ChooseReplicas(List<PluginDevice> chosen, List<PluginDevice> candidates, int wanted, ReplicaPolicy policy)
    {
        var set = new List<PluginDevice>(chosen);
        var pool = new List<PluginDevice>(candidates);
        while (set.Count < wanted)
        {
            // Spread: a GPU this container does not use yet, with the most free replicas (least loaded).
            // Pack: a GPU this container already uses, else the one with the fewest free replicas (most loaded).
            var freeByGpu = pool.GroupBy(d => d.Gpu.Uuid).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var next = policy == ReplicaPolicy.Spread
                ? pool.OrderBy(d => set.Count(s => s.Gpu.Uuid == d.Gpu.Uuid))
                    .ThenByDescending(d => freeByGpu[d.Gpu.Uuid])
                    .ThenBy(d => d.Gpu.Index).ThenBy(d => d.Replica).First()
                : pool.OrderByDescending(d => set.Count(s => s.Gpu.Uuid == d.Gpu.Uuid))
                    .ThenBy(d => freeByGpu[d.Gpu.Uuid])
                    .ThenBy(d => d.Gpu.Index).ThenBy(d => d.Replica).First();
            set.Add(next);
            pool.Remove(next);
        }

        return set;
    }

    private static bool Linked(PluginDevice a, PluginDevice b) =>
        a.Gpu.Uuid != b.Gpu.Uuid && a.Gpu.NvLinkPeers.Contains(b.Gpu.Uuid, StringComparer.Ordinal);

    private static (int Links, int NumaNodes, int IndexSum) Score(List<PluginDevice> set)
    {
        var links = 0;
        for (var i = 0; i < set.Count; i++)
        {
            for (var j = i + 1; j < set.Count; j++)
            {
                if (Linked(set[i], set[j]))
                {
                    links++;
                }
            }
        }

        return (links, set.Select(d => d.NumaNode).Distinct().Count(), set.Sum(d => d.Gpu.Index));
    }

    private static bool Better((int Links, int NumaNodes, int IndexSum) a, (int Links, int NumaNodes, int IndexSum) b) =>
        a.Links != b.Links ? a.Links > b.Links
        : a.NumaNodes != b.NumaNodes ? a.NumaNodes < b.NumaNodes
        : a.IndexSum < b.IndexSum;
}
