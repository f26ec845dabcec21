using GpuDaemon.DevicePlugin.Api;
using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>
/// Allocate, GetDevicePluginOptions and ListAndWatch handlers that only count their calls, so a test can tell
/// whether a request reached one. ListAndWatch sends one list, then ends or, like the kubelet's, stays open.
/// </summary>
internal sealed class CountingService(bool holdListAndWatchOpen = false)
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public GrpcServiceMap Map() => new GrpcServiceMap()
        .MapUnary(DevicePluginApi.Allocate, (_, _) =>
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new AllocateResponse());
        })
        .MapUnary(DevicePluginApi.GetDevicePluginOptions, (_, _) => Task.FromResult(new DevicePluginOptions { PreStartRequired = true }))
        .MapServerStreaming(DevicePluginApi.ListAndWatch, async (_, writer, call) =>
        {
            Interlocked.Increment(ref _calls);
            await writer.WriteAsync(new ListAndWatchResponse { Devices = { new Device { ID = "GPU-a", Health = "Healthy" } } }, call.CancellationToken);
            if (holdListAndWatchOpen)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, call.CancellationToken);
            }
        });
}
