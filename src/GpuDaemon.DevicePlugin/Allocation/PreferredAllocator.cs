using GpuDaemon.DevicePlugin.Planning;

namespace GpuDaemon.DevicePlugin.Allocation;

/// <summary>
/// Picks the devices the kubelet should prefer. Whole GPUs: the set with the most NVLink pairs, then the
/// fewest NUMA nodes, then the lowest indices. Replicas: spread over physical GPUs or pack onto one.
/// Deterministic: the same request always gets the same answer, whatever the order of the available IDs.
/// </summary>
/// <remarks>
/// Cost. Replicas are grouped by physical GPU and picked from a sorted set of GPUs, so a request costs
/// O(n log n) in the available devices (4,096 devices, size 2,048: a few milliseconds). Whole GPUs (and MIG
/// instances) are grown greedily from one seed per physical GPU; each step takes the best candidate from
/// per-NUMA-node sorted sets and updates only the NVLink peers of the device added, so one greedy run costs
/// O(k (p + m) log n) for k picked, p peer devices and m NUMA nodes. Both loops check the call's cancellation.
/// </remarks>
internal static class PreferredAllocator
{
    /// <param name="onStep">Called at every step of the search (tests count steps and cancel from here).</param>
    public static IReadOnlyList<PluginDevice> Choose(IReadOnlyList<PluginDevice> available, IReadOnlyList<PluginDevice> mustInclude, int size, ReplicaPolicy policy,
        Action? onStep = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var chosen = mustInclude.DistinctBy(d => d.Id).ToList();
        var taken = chosen.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        var candidates = available.Where(d => taken.Add(d.Id)).ToList();
        var wanted = Math.Min(size, chosen.Count + candidates.Count);
        if (chosen.Count >= wanted)
        {
            return chosen;
        }

        var step = new Step(onStep, cancellationToken);
        return candidates.Any(d => d.Replica is not null)
            ? ChooseReplicas(chosen, candidates, wanted, policy, step)
            : ChooseByTopology(chosen, candidates, wanted, step);
    }

    private readonly record struct Step(Action? Hook, CancellationToken Token)
    {
        public void Next()
        {
            Hook?.Invoke();
            Token.ThrowIfCancellationRequested();
        }
    }

    private static List<PluginDevice> ChooseReplicas(List<PluginDevice> chosen, List<PluginDevice> candidates, int wanted, ReplicaPolicy policy, Step step)
    {
        // Per physical GPU: its free replicas in pick order, and how many of them this container already has.
        var gpus = new Dictionary<string, GpuPool>(StringComparer.Ordinal);
        foreach (var device in candidates)
        {
            if (!gpus.TryGetValue(device.Gpu.Uuid, out var pool))
            {
                gpus[device.Gpu.Uuid] = pool = new GpuPool(device.Gpu.Index, device.Gpu.Uuid);
            }

            pool.Free.Add(device);
        }

        foreach (var device in chosen)
        {
            if (gpus.TryGetValue(device.Gpu.Uuid, out var pool))
            {
                pool.Used++;
            }
        }

        foreach (var pool in gpus.Values)
        {
            pool.Free.Sort(static (a, b) => a.Replica != b.Replica ? Nullable.Compare(a.Replica, b.Replica) : string.CompareOrdinal(a.Id, b.Id));
        }

        // Spread: a GPU this container uses least, with the most free replicas (least loaded).
        // Pack: a GPU this container uses most, else the one with the fewest free replicas (most loaded).
        var order = Comparer<GpuPool>.Create((a, b) =>
        {
            var byUse = policy == ReplicaPolicy.Spread ? a.Used.CompareTo(b.Used) : b.Used.CompareTo(a.Used);
            if (byUse != 0)
            {
                return byUse;
            }

            var byFree = policy == ReplicaPolicy.Spread ? b.Remaining.CompareTo(a.Remaining) : a.Remaining.CompareTo(b.Remaining);
            return byFree != 0 ? byFree : a.Index != b.Index ? a.Index.CompareTo(b.Index) : string.CompareOrdinal(a.Uuid, b.Uuid);
        });
        var queue = new SortedSet<GpuPool>(gpus.Values, order);
        var set = new List<PluginDevice>(wanted);
        set.AddRange(chosen);
        while (set.Count < wanted)
        {
            step.Next();
            var best = queue.Min!;
            queue.Remove(best);
            set.Add(best.Free[best.Next++]);
            best.Used++;
            if (best.Remaining > 0)
            {
                queue.Add(best);
            }
        }

        return set;
    }

    private sealed class GpuPool(int index, string uuid)
    {
        public int Index => index;

        public string Uuid => uuid;

        public List<PluginDevice> Free { get; } = [];

        public int Next { get; set; }

        public int Used { get; set; }

        public int Remaining => Free.Count - Next;
    }

    private static List<PluginDevice> ChooseByTopology(List<PluginDevice> chosen, List<PluginDevice> candidates, int wanted, Step step)
    {
        var topology = new Topology(chosen.Concat(candidates));
        candidates.Sort(static (a, b) => a.Gpu.Index != b.Gpu.Index ? a.Gpu.Index.CompareTo(b.Gpu.Index) : string.CompareOrdinal(a.Id, b.Id));

        // With must_include the set grows around it; otherwise every physical GPU is tried as the seed (devices
        // on one GPU are alike to the search: no NVLink between them, one NUMA node) and the best set wins.
        IEnumerable<PluginDevice?> seeds = chosen.Count > 0 ? new PluginDevice?[] { null } : candidates.DistinctBy(d => d.Gpu.Uuid).Select(PluginDevice? (d) => d);
        List<PluginDevice>? best = null;
        Score bestScore = default;
        foreach (var seed in seeds)
        {
            step.Next();
            var (set, score) = Grow(topology, chosen, candidates, seed, wanted, step);
            if (best is null || score.BetterThan(bestScore))
            {
                best = set;
                bestScore = score;
            }
        }

        return best!;
    }

    /// <summary>
    /// One greedy run: add the candidate with the most NVLink peers in the set, then the most set members on
    /// its NUMA node, then the lowest GPU index and ID.
    /// </summary>
    private static (List<PluginDevice> Set, Score Score) Grow(Topology topology, List<PluginDevice> chosen, List<PluginDevice> candidates, PluginDevice? seed, int wanted, Step step)
    {
        var links = new Dictionary<PluginDevice, int>(ReferenceEqualityComparer.Instance);
        var byNuma = new Dictionary<int, SortedSet<PluginDevice>>();
        var numaCount = new Dictionary<int, int>();
        var comparer = Comparer<PluginDevice>.Create((a, b) =>
        {
            var byLinks = links[b].CompareTo(links[a]);
            return byLinks != 0 ? byLinks : a.Gpu.Index != b.Gpu.Index ? a.Gpu.Index.CompareTo(b.Gpu.Index) : string.CompareOrdinal(a.Id, b.Id);
        });
        // Every device not yet in the set (must_include ones too) with its NVLink peers in the set.
        foreach (var device in chosen.Concat(candidates))
        {
            links[device] = 0;
        }

        var isCandidate = candidates.ToHashSet(ReferenceEqualityComparer.Instance);

        foreach (var candidate in candidates)
        {
            var numa = Topology.NumaKey(candidate);
            if (!byNuma.TryGetValue(numa, out var bucket))
            {
                byNuma[numa] = bucket = new SortedSet<PluginDevice>(comparer);
            }

            bucket.Add(candidate);
        }

        var set = new List<PluginDevice>(wanted);
        var score = default(Score);

        void Add(PluginDevice device)
        {
            var numa = Topology.NumaKey(device);
            if (isCandidate.Contains(device))
            {
                byNuma[numa].Remove(device);
            }

            score = score.With(links[device], device.Gpu.Index);
            links.Remove(device);

            if (numaCount.TryGetValue(numa, out var members))
            {
                numaCount[numa] = members + 1;
            }
            else
            {
                numaCount[numa] = 1;
                score = score with { NumaNodes = score.NumaNodes + 1 };
            }

            set.Add(device);
            foreach (var peer in topology.PeersOf(device))
            {
                if (!links.TryGetValue(peer, out var count))
                {
                    continue;
                }

                if (!isCandidate.Contains(peer))
                {
                    links[peer] = count + 1;
                    continue;
                }

                var bucket = byNuma[Topology.NumaKey(peer)];
                bucket.Remove(peer);
                links[peer] = count + 1;
                bucket.Add(peer);
            }
        }

        foreach (var device in chosen)
        {
            Add(device);
        }

        if (seed is not null)
        {
            Add(seed);
        }

        while (set.Count < wanted)
        {
            step.Next();
            PluginDevice? next = null;
            var nextNuma = 0;
            foreach (var (numa, bucket) in byNuma)
            {
                if (bucket.Count == 0)
                {
                    continue;
                }

                var top = bucket.Min!;
                if (next is null || Before(top, numaCount.GetValueOrDefault(numa), next, nextNuma))
                {
                    next = top;
                    nextNuma = numaCount.GetValueOrDefault(numa);
                }
            }

            Add(next!);
        }

        return (set, score);

        bool Before(PluginDevice a, int aNuma, PluginDevice b, int bNuma)
        {
            if (links[a] != links[b])
            {
                return links[a] > links[b];
            }

            if (aNuma != bNuma)
            {
                return aNuma > bNuma;
            }

            return a.Gpu.Index != b.Gpu.Index ? a.Gpu.Index < b.Gpu.Index : string.CompareOrdinal(a.Id, b.Id) < 0;
        }
    }

    /// <summary>Most NVLink pairs, then fewest NUMA nodes, then lowest index sum.</summary>
    private readonly record struct Score(int Links, int NumaNodes, long IndexSum)
    {
        public Score With(int links, int index) => this with { Links = Links + links, IndexSum = IndexSum + index };

        public bool BetterThan(Score other) =>
            Links != other.Links ? Links > other.Links
            : NumaNodes != other.NumaNodes ? NumaNodes < other.NumaNodes
            : IndexSum < other.IndexSum;
    }

    /// <summary>NVLink between devices, computed once per request: each device's peers on other physical GPUs.</summary>
    private sealed class Topology
    {
        private readonly Dictionary<string, List<PluginDevice>> _byGpu = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HashSet<string>> _peerGpus = new(StringComparer.Ordinal);

        public Topology(IEnumerable<PluginDevice> devices)
        {
            foreach (var device in devices)
            {
                if (!_byGpu.TryGetValue(device.Gpu.Uuid, out var list))
                {
                    _byGpu[device.Gpu.Uuid] = list = [];
                }

                list.Add(device);
            }

            // Symmetric: a link listed by either end links both.
            foreach (var devicesOnGpu in _byGpu.Values)
            {
                var gpu = devicesOnGpu[0].Gpu;
                foreach (var peer in gpu.NvLinkPeers)
                {
                    if (peer != gpu.Uuid && _byGpu.ContainsKey(peer))
                    {
                        PeersOfGpu(gpu.Uuid).Add(peer);
                        PeersOfGpu(peer).Add(gpu.Uuid);
                    }
                }
            }
        }

        /// <summary>Null NUMA (unknown) is a node of its own, as it always was.</summary>
        public static int NumaKey(PluginDevice device) => device.NumaNode ?? int.MinValue;

        public IEnumerable<PluginDevice> PeersOf(PluginDevice device) =>
            _peerGpus.TryGetValue(device.Gpu.Uuid, out var peers) ? peers.SelectMany(p => _byGpu[p]) : [];

        private HashSet<string> PeersOfGpu(string uuid)
        {
            if (!_peerGpus.TryGetValue(uuid, out var peers))
            {
                _peerGpus[uuid] = peers = new HashSet<string>(StringComparer.Ordinal);
            }

            return peers;
        }
    }
}
