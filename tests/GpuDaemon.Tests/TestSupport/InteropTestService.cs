using GpuDaemon.DevicePlugin.Api;
using System.Globalization;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// The DevicePlugin behaviours the grpc-go interop client (tests/interop) expects, also used by the
/// wire layer's own tests. Records what the server saw so tests can assert on it.
/// </summary>
public sealed class InteropTestService
{
    public const string BadDeviceId = "bad-ünï%code";

    private readonly TaskCompletionSource _streamCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _deadlineCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a ListAndWatch handler saw its call token cancelled by the client.</summary>
    public Task StreamCancelled => _streamCancelled.Task;

    /// <summary>Completes when the slow PreStartContainer saw its deadline fire.</summary>
    public Task DeadlineCancelled => _deadlineCancelled.Task;

    public string? LastAuthority { get; private set; }

    public GrpcServiceMap Map() => new GrpcServiceMap()
        .MapUnary(DevicePluginApi.GetDevicePluginOptions, GetOptionsAsync)
        .MapUnary(DevicePluginApi.Allocate, AllocateAsync)
        .MapServerStreaming(DevicePluginApi.ListAndWatch, ListAndWatchAsync)
        .MapUnary(DevicePluginApi.PreStartContainer, PreStartAsync)
        .MapUnary(DevicePluginApi.GetPreferredAllocation, (_, _) => Task.FromException<PreferredAllocationResponse>(
            new InvalidOperationException("preferred allocation exploded\n   at Somewhere.Secret()")));

    private Task<DevicePluginOptions> GetOptionsAsync(Empty request, ServerCallContext call)
    {
        LastAuthority = call.RequestHeaders.Host.ToString();
        return Task.FromResult(new DevicePluginOptions { PreStartRequired = true, GetPreferredAllocationAvailable = true });
    }

    private static Task<AllocateResponse> AllocateAsync(AllocateRequest request, ServerCallContext call)
    {
        var ids = request.ContainerRequests.SelectMany(c => c.DevicesIds).ToList();
        if (ids.Contains(BadDeviceId))
        {
            throw new RpcException(GrpcStatusCode.InvalidArgument, $"unknown device \"{BadDeviceId}\": 100% not found");
        }

        var response = new ContainerAllocateResponse();
        if (ids.Count > 2)
        {
            response.Envs["COUNT"] = ids.Count.ToString(CultureInfo.InvariantCulture);
            response.Envs["LAST"] = ids[^1];
        }
        else
        {
            response.Envs["NVIDIA_VISIBLE_DEVICES"] = string.Join(',', ids);
            response.Devices.Add(new DeviceSpec { ContainerPath = "/dev/nvidia0", HostPath = "/dev/nvidia0", Permissions = "rw" });
            response.Annotations["interop"] = "yes";
        }

        return Task.FromResult(new AllocateResponse { ContainerResponses = { response } });
    }

    private async Task ListAndWatchAsync(Empty request, IServerStreamWriter<ListAndWatchResponse> writer, ServerCallContext call)
    {
        for (var n = 1; n <= 3; n++)
        {
            var message = new ListAndWatchResponse();
            for (var i = 0; i < n; i++)
            {
                message.Devices.Add(new Device
                {
                    ID = $"GPU-{i}",
                    Health = "Healthy",
                    Topology = new TopologyInfo { Nodes = { new NUMANode { ID = i } } },
                });
            }

            await writer.WriteAsync(message, call.CancellationToken);
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, call.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            _streamCancelled.TrySetResult();
            throw;
        }
    }

    private async Task<PreStartContainerResponse> PreStartAsync(PreStartContainerRequest request, ServerCallContext call)
    {
        if (request.DevicesIds.Contains("slow"))
        {
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, call.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                _deadlineCancelled.TrySetResult();
                throw;
            }
        }

        return new PreStartContainerResponse();
    }
}
