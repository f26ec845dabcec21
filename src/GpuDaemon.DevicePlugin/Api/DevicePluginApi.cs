using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.DevicePlugin.V1Beta1;

namespace GpuDaemon.DevicePlugin.Api;

/// <summary>The kubelet device-plugin API v1beta1, method by method, as the wire layer maps and calls it.</summary>
public static class DevicePluginApi
{
    public static readonly GrpcMethod<Empty, DevicePluginOptions> GetDevicePluginOptions =
        new(GrpcMethodType.Unary, "/v1beta1.DevicePlugin/GetDevicePluginOptions", Empty.Parser, DevicePluginOptions.Parser);

    public static readonly GrpcMethod<Empty, ListAndWatchResponse> ListAndWatch =
        new(GrpcMethodType.ServerStreaming, "/v1beta1.DevicePlugin/ListAndWatch", Empty.Parser, ListAndWatchResponse.Parser);

    public static readonly GrpcMethod<PreferredAllocationRequest, PreferredAllocationResponse> GetPreferredAllocation =
        new(GrpcMethodType.Unary, "/v1beta1.DevicePlugin/GetPreferredAllocation", PreferredAllocationRequest.Parser, PreferredAllocationResponse.Parser);

    public static readonly GrpcMethod<AllocateRequest, AllocateResponse> Allocate =
        new(GrpcMethodType.Unary, "/v1beta1.DevicePlugin/Allocate", AllocateRequest.Parser, AllocateResponse.Parser);

    public static readonly GrpcMethod<PreStartContainerRequest, PreStartContainerResponse> PreStartContainer =
        new(GrpcMethodType.Unary, "/v1beta1.DevicePlugin/PreStartContainer", PreStartContainerRequest.Parser, PreStartContainerResponse.Parser);

    public static readonly GrpcMethod<RegisterRequest, Empty> Register =
        new(GrpcMethodType.Unary, "/v1beta1.Registration/Register", RegisterRequest.Parser, Empty.Parser);
}
