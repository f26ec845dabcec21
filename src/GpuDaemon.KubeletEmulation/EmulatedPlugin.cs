using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.KubeletEmulation;

/// <summary>What the emulated kubelet knows of one registered plugin, and a client to call it.</summary>
public sealed class EmulatedPlugin : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private IReadOnlyList<Device> _devices = [];
    private int _updates;

    internal EmulatedPlugin(string resourceName, string endpoint, DevicePluginOptions options, GrpcUnixClient client, DateTimeOffset registeredAt)
    {
        ResourceName = resourceName;
        Endpoint = endpoint;
        Options = options;
        Client = client;
        RegisteredAt = registeredAt;
    }

    public string ResourceName { get; }

    public string Endpoint { get; }

    public DevicePluginOptions Options { get; }

    public GrpcUnixClient Client { get; }

    public DateTimeOffset RegisteredAt { get; }

    /// <summary>The last device list; once the stream ends, every device counts as unhealthy, as in the kubelet.</summary>
    public IReadOnlyList<Device> Devices
    {
        get
        {
            lock (_gate)
            {
                return _devices;
            }
        }
    }

    public int Updates => Volatile.Read(ref _updates);

    public bool StreamEnded { get; private set; }

    public int HealthyCount => Devices.Count(d => d.Health == KubeletConstants.Healthy);

    internal CancellationToken Stopping => _stopping.Token;

    public Task<AllocateResponse> AllocateAsync(IEnumerable<string> ids, CancellationToken cancellationToken = default) =>
        Client.UnaryAsync(DevicePluginApi.Allocate, new AllocateRequest
        {
            ContainerRequests = { new ContainerAllocateRequest { DevicesIds = { ids } } },
        }, cancellationToken: cancellationToken);

    /// <summary>Asks for <paramref name="size"/> devices out of the healthy ones, as the kubelet does.</summary>
    public async Task<IReadOnlyList<string>> PreferredAsync(int size, IEnumerable<string>? mustInclude = null, CancellationToken cancellationToken = default)
    {
        var request = new ContainerPreferredAllocationRequest { AllocationSize = size };
        request.AvailableDeviceIDs.AddRange(Devices.Where(d => d.Health == KubeletConstants.Healthy).Select(d => d.ID));
        request.MustIncludeDeviceIDs.AddRange(mustInclude ?? []);
        var response = await Client.UnaryAsync(DevicePluginApi.GetPreferredAllocation, new PreferredAllocationRequest { ContainerRequests = { request } }, cancellationToken: cancellationToken);
        return [.. response.ContainerResponses[0].DeviceIDs];
    }

    public void Dispose()
    {
        _stopping.Cancel();
        Client.Dispose();
        _stopping.Dispose();
    }

    internal void Update(ListAndWatchResponse list)
    {
        lock (_gate)
        {
            _devices = [.. list.Devices];
        }

        Interlocked.Increment(ref _updates);
    }

    internal void MarkStreamEnded()
    {
        lock (_gate)
        {
            _devices = [.. _devices.Select(d => new Device(d) { Health = KubeletConstants.Unhealthy })];
        }

        StreamEnded = true;
    }
}
