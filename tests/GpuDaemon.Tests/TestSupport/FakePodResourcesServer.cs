using GpuDaemon.Devices;
using GpuDaemon.GrpcWire;
using GpuDaemon.PodResources;
using GpuDaemon.Protos.PodResources.V1;
using PodEntry = GpuDaemon.Protos.PodResources.V1.PodResources;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The kubelet's pod-resources service, in-process on a temp-dir socket: answers List with what the test
/// put in <see cref="Response"/>, or stalls until the caller gives up while <see cref="Stall"/> is set.
/// </summary>
public sealed class FakePodResourcesServer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly GrpcUnixServer _server;
    private ListPodResourcesResponse _response = new();
    private int _calls;

    private FakePodResourcesServer(string socketPath, TimeProvider? timeProvider)
    {
        SocketPath = socketPath;
        var services = new GrpcServiceMap().MapUnary(PodResourcesApi.List, ListAsync);
        _server = new GrpcUnixServer(socketPath, services, TestLogging.Factory, timeProvider: timeProvider);
    }

    public string SocketPath { get; }

    /// <summary>List calls received so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Notified when a List call arrives.</summary>
    public ChangeSignal Called { get; } = new();

    /// <summary>While set, List never answers (until the caller's deadline or cancellation).</summary>
    public bool Stall { get; set; }

    public ListPodResourcesResponse Response
    {
        get
        {
            lock (_gate)
            {
                return _response;
            }
        }

        set
        {
            lock (_gate)
            {
                _response = value;
            }
        }
    }

    public static async Task<FakePodResourcesServer> StartAsync(string socketPath, TimeProvider? timeProvider = null)
    {
        var server = new FakePodResourcesServer(socketPath, timeProvider);
        await server._server.StartAsync();
        return server;
    }

    /// <summary>A pod with one container per entry, each holding the given device IDs of one resource.</summary>
    public static PodEntry Pod(string ns, string name, params (string Container, string Resource, string[] Ids)[] containers)
    {
        var pod = new PodEntry { Namespace = ns, Name = name };
        foreach (var group in containers.GroupBy(c => c.Container))
        {
            var container = new ContainerResources { Name = group.Key };
            foreach (var (_, resource, ids) in group)
            {
                container.Devices.Add(new ContainerDevices { ResourceName = resource, DeviceIds = { ids } });
            }

            pod.Containers.Add(container);
        }

        return pod;
    }

    public static ListPodResourcesResponse Answer(params PodEntry[] pods) => new() { PodResources = { pods } };

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<ListPodResourcesResponse> ListAsync(ListPodResourcesRequest request, ServerCallContext call)
    {
        Interlocked.Increment(ref _calls);
        Called.Notify();
        if (Stall)
        {
            await Task.Delay(Timeout.Infinite, call.CancellationToken);
        }

        return Response;
    }
}
