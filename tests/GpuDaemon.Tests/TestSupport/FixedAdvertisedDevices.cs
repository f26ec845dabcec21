using GpuDaemon.DevicePlugin;
using GpuDaemon.DevicePlugin.Planning;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>The device plugin's advertised devices, fixed to the plans a test made with the real planner.</summary>
internal sealed class FixedAdvertisedDevices(IReadOnlyList<ResourcePlan> plans) : IAdvertisedDevices
{
    public AdvertisedDeviceSet Current { get; } = new(plans);
}
