using GpuDaemon.GrpcWire;
using GpuDaemon.Protos.PodResources.V1;

namespace GpuDaemon.PodResources;

/// <summary>The kubelet's pod-resources API v1, as far as GpuDaemon calls it.</summary>
internal static class PodResourcesApi
{
    public static readonly GrpcMethod<ListPodResourcesRequest, ListPodResourcesResponse> List =
        new(GrpcMethodType.Unary, "/v1.PodResourcesLister/List", ListPodResourcesRequest.Parser, ListPodResourcesResponse.Parser);
}
