namespace GpuDaemon.PodResources;

/// <summary>A container that holds a device through a resource this agent advertises.</summary>
public sealed record PodContainer(string Namespace, string Pod, string Container);

/// <summary>
/// Which containers hold which device, from the kubelet's pod-resources API, refreshed off the scrape
/// path (a short period, and soon after every Allocate). Reading it never calls the kubelet.
/// </summary>
public interface IPodAttribution
{
    /// <summary>False while attribution is turned off (an empty socket path): nothing is asked and nothing is up or down.</summary>
    bool Enabled { get; }

    /// <summary>True when the last List call answered; false when the socket is missing, slow or refusing.</summary>
    bool Up { get; }

    /// <summary>
    /// The containers holding each device, keyed by the device's UUID: a GPU's UUID, or a MIG device's UUID.
    /// Replicas of one GPU (IDs with a <c>::k</c> suffix) resolve to that GPU; a container holding several
    /// replicas of one GPU appears once. Each list is ordered by namespace, pod, container. While <see cref="Up"/>
    /// is false this is the last good map, which may be stale (the metrics then leave pod labels out).
    /// </summary>
    IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> ContainersByDevice { get; }

    /// <summary>Asks for a refresh soon (called after an Allocate). Never blocks; requests are coalesced and rate-limited.</summary>
    void RequestRefresh();
}
