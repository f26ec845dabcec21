using GpuDaemon.PodResources;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>Pod attribution a test sets directly: which containers hold which device, and whether the kubelet answered.</summary>
internal sealed class FakePodAttribution : IPodAttribution
{
    private volatile IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> _containers = new Dictionary<string, IReadOnlyList<PodContainer>>();
    private int _refreshRequests;

    public bool Up { get; set; } = true;

    public bool Enabled { get; set; } = true;

    public IReadOnlyDictionary<string, IReadOnlyList<PodContainer>> ContainersByDevice => _containers;

    public int RefreshRequests => Volatile.Read(ref _refreshRequests);

    public FakePodAttribution Hold(string deviceUuid, params PodContainer[] containers)
    {
        var next = new Dictionary<string, IReadOnlyList<PodContainer>>(_containers, StringComparer.Ordinal) { [deviceUuid] = containers };
        _containers = next;
        return this;
    }

    /// <summary>The kubelet stopped answering; like the real service, the last map is kept.</summary>
    public void GoDown() => Up = false;

    public void RequestRefresh() => Interlocked.Increment(ref _refreshRequests);
}
