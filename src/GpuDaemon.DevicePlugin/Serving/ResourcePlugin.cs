using System.Diagnostics;
using GpuDaemon.DevicePlugin.Allocation;
using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.DevicePlugin.Planning;
using GpuDaemon.Devices;
using GpuDaemon.GrpcWire;
using GpuDaemon.Health;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;
using Microsoft.Extensions.Logging;

namespace GpuDaemon.DevicePlugin.Serving;

/// <summary>The DevicePlugin gRPC service for one resource: its device list, health stream and allocation.</summary>
internal sealed partial class ResourcePlugin
{
    private readonly IGpuHealth _health;
    private readonly Allocator _allocator;
    private readonly ILogger _logger;

    public ResourcePlugin(ResourcePlan plan, PluginOptions config, IGpuHealth health, ILogger logger, PluginActivity? activity = null)
    {
        Activity = activity ?? new PluginActivity();
        Plan = plan;
        Config = config;
        _health = health;
        _logger = logger;
        _allocator = new Allocator(plan, config, health);
    }

    public ResourcePlan Plan { get; }

    public PluginOptions Config { get; }

    /// <summary>Where this plugin's Allocate calls and its endpoint's registrations are counted.</summary>
    public PluginActivity Activity { get; }

    public DevicePluginOptions Options => new()
    {
        PreStartRequired = Config.PreStartRequired,
        GetPreferredAllocationAvailable = true,
    };

    public GrpcServiceMap CreateServiceMap() => new GrpcServiceMap()
        .MapUnary(DevicePluginApi.GetDevicePluginOptions, (_, _) => Task.FromResult(Options))
        .MapServerStreaming(DevicePluginApi.ListAndWatch, ListAndWatchAsync)
        .MapUnary(DevicePluginApi.GetPreferredAllocation, (request, call) => Task.FromResult(Refusing(() => GetPreferredAllocation(request, cancellationToken: call.CancellationToken))))
        .MapUnary(DevicePluginApi.Allocate, (request, _) => Task.FromResult(AllocateRecorded(request)))
        .MapUnary(DevicePluginApi.PreStartContainer, (request, _) => Task.FromResult(Refusing(() =>
        {
            _allocator.PreStart(request);
            return new PreStartContainerResponse();
        })));

    /// <summary>The serving edge: a refused request becomes the gRPC status the kubelet shows in the pod's events.</summary>
    internal static T Refusing<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (AllocationException ex)
        {
            throw ToRpcException(ex);
        }
    }

    private static RpcException ToRpcException(AllocationException ex) =>
        new(ex.Refusal == AllocationRefusal.DeviceUnusable ? GrpcStatusCode.FailedPrecondition : GrpcStatusCode.InvalidArgument, ex.Message);

    /// <summary>
    /// Allocate at the serving edge, counted as the kubelet sees it: its result (from the gRPC status) and its
    /// duration. Written out rather than composed from delegates: it runs on every pod admission, and closures
    /// would be garbage on each.
    /// </summary>
    internal AllocateResponse AllocateRecorded(AllocateRequest request)
    {
        var started = Stopwatch.GetTimestamp();
        var result = AllocateResult.Failed;
        try
        {
            var response = Allocate(request);
            result = AllocateResult.Ok;
            return response;
        }
        catch (AllocationException ex)
        {
            var refused = ToRpcException(ex);
            result = refused.StatusCode == GrpcStatusCode.FailedPrecondition ? AllocateResult.FailedPrecondition : AllocateResult.InvalidArgument;
            throw refused;
        }
        finally
        {
            Activity.RecordAllocate(Plan.ResourceName, result, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The whole device list with current health, as one ListAndWatch message.</summary>
    public ListAndWatchResponse Snapshot()
    {
        var response = new ListAndWatchResponse();
        foreach (var device in Plan.Devices)
        {
            var advertised = new Device { ID = device.Id, Health = KubeletConstants.HealthOf(_health.Verdict(device.Gpu.Uuid)) };
            if (device.NumaNode is { } numa)
            {
                advertised.Topology = new TopologyInfo { Nodes = { new NUMANode { ID = numa } } };
            }

            response.Devices.Add(advertised);
        }

        return response;
    }

    public AllocateResponse Allocate(AllocateRequest request)
    {
        var response = _allocator.Allocate(request);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            var deviceCount = request.ContainerRequests.Sum(c => c.DevicesIds.Count);
            Log.Allocated(_logger, Plan.ResourceName, request.ContainerRequests.Count, deviceCount);
        }
        return response;
    }

    /// <summary>
    /// The preferred devices per container. Each request is checked first (refused with an <see cref="AllocationException"/>);
    /// the search stops with an <see cref="OperationCanceledException"/> once the caller gives up.
    /// </summary>
    /// <param name="onStep">Called at every step of the search (tests count steps and cancel from here).</param>
    public PreferredAllocationResponse GetPreferredAllocation(PreferredAllocationRequest request, Action? onStep = null, CancellationToken cancellationToken = default)
    {
        var response = new PreferredAllocationResponse();
        var healthy = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var container in request.ContainerRequests)
        {
            var (known, mustInclude) = _allocator.ResolvePreferred(container);
            var available = known.Where(d => IsHealthy(d, healthy)).ToList();
            var chosen = PreferredAllocator.Choose(available, mustInclude, container.AllocationSize, Config.ReplicaPolicy, onStep, cancellationToken);
            response.ContainerResponses.Add(new ContainerPreferredAllocationResponse { DeviceIDs = { chosen.Select(d => d.Id) } });
        }

        return response;
    }

    /// <summary>One verdict per physical GPU per request, however many replicas it has.</summary>
    private bool IsHealthy(PluginDevice device, Dictionary<string, bool> cache)
    {
        if (!cache.TryGetValue(device.Gpu.Uuid, out var healthy))
        {
            cache[device.Gpu.Uuid] = healthy = _health.Verdict(device.Gpu.Uuid).Healthy;
        }

        return healthy;
    }

    private async Task ListAndWatchAsync(Empty request, IServerStreamWriter<ListAndWatchResponse> writer, ServerCallContext call)
    {
        Log.WatchStarted(_logger, Plan.ResourceName);
        ListAndWatchResponse? last = null;
        while (true)
        {
            var seen = _health.Changed.Version;
            var snapshot = Snapshot();
            if (!snapshot.Equals(last))
            {
                await writer.WriteAsync(snapshot, call.CancellationToken);
                last = snapshot;
            }

            await _health.Changed.WaitForChangeAsync(seen, call.CancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Allocated {DeviceCount} {Resource} devices for {ContainerCount} containers")]
        public static partial void Allocated(ILogger logger, string resource, int containerCount, int deviceCount);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Kubelet is watching {Resource}")]
        public static partial void WatchStarted(ILogger logger, string resource);
    }
}
