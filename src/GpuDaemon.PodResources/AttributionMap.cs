using GpuDaemon.DevicePlugin;
using GpuDaemon.Protos.PodResources.V1;

namespace GpuDaemon.PodResources;

/// <summary>One List answer matched against what this agent advertises: device UUID → the containers holding it.</summary>
internal static class AttributionMap
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> Empty =
        new Dictionary<string, IReadOnlyList<PodContainer>>(StringComparer.Ordinal);

    private static readonly IComparer<PodContainer> Order = Comparer<PodContainer>.Create((a, b) =>
    {
        var byNamespace = string.CompareOrdinal(a.Namespace, b.Namespace);
        if (byNamespace != 0)
        {
            return byNamespace;
        }

        var byPod = string.CompareOrdinal(a.Pod, b.Pod);
        return byPod != 0 ? byPod : string.CompareOrdinal(a.Container, b.Container);
    });

    /// <summary>
    /// Devices of resources not advertised here, and IDs the plugin does not advertise (any more), are left
    /// out; every replica of a device counts as that device, so a container holding several appears once.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> Build(ListPodResourcesResponse response, AdvertisedDeviceSet advertised)
    {
        var holders = new Dictionary<string, HashSet<PodContainer>>(StringComparer.Ordinal);
        foreach (var pod in response.PodResources)
        {
            foreach (var container in pod.Containers)
            {
                PodContainer? holder = null;
                foreach (var devices in container.Devices)
                {
                    if (!advertised.Advertises(devices.ResourceName))
                    {
                        continue;
                    }

                    foreach (var id in devices.DeviceIds)
                    {
                        if (!advertised.TryResolve(devices.ResourceName, id, out var uuid))
                        {
                            continue;
                        }

                        holder ??= new PodContainer(pod.Namespace, pod.Name, container.Name);
                        if (!holders.TryGetValue(uuid, out var set))
                        {
                            holders[uuid] = set = [];
                        }

                        set.Add(holder);
                    }
                }
            }
        }

        if (holders.Count == 0)
        {
            return Empty;
        }

        var map = new Dictionary<string, IReadOnlyList<PodContainer>>(holders.Count, StringComparer.Ordinal);
        foreach (var (uuid, set) in holders)
        {
            var list = set.ToList();
            list.Sort(Order);
            map[uuid] = list;
        }

        return map;
    }
}
