using System.Runtime.CompilerServices;
using GpuDaemon.Nvidia.Nvml;

namespace GpuDaemon.Tests.Nvidia.Nvml;

public sealed class NvmlReturnTests
{
    [Theory]
    [InlineData(NvmlReturn.Success, "NVML_SUCCESS")]
    [InlineData(NvmlReturn.GpuIsLost, "NVML_ERROR_GPU_IS_LOST")]
    [InlineData(NvmlReturn.LibRmVersionMismatch, "NVML_ERROR_LIB_RM_VERSION_MISMATCH")]
    [InlineData(NvmlReturn.DriverNotLoaded, "NVML_ERROR_DRIVER_NOT_LOADED")]
    [InlineData((NvmlReturn)77, "NVML_ERROR_77")]
    public void ConstantName_Code_IsTheHeaderName(NvmlReturn code, string expected) =>
        Assert.Equal(expected, code.ConstantName());

    [Fact]
    public void Describe_FailedCall_NamesFunctionCodeAndText() =>
        Assert.Equal(
            "nvmlDeviceGetPowerUsage returned NVML_ERROR_NOT_SUPPORTED (3: Not Supported)",
            new NvmlException("nvmlDeviceGetPowerUsage", NvmlReturn.NotSupported, "Not Supported").Message);
}

public sealed class NvmlStructLayoutTests
{
    [Fact]
    public void Sizes_MatchTheHeaderLayouts()
    {
        Assert.Equal(68, Unsafe.SizeOf<NvmlPciInfo>());
        Assert.Equal(24, Unsafe.SizeOf<NvmlMemoryV1>());
        Assert.Equal(40, Unsafe.SizeOf<NvmlMemoryV2>());
        Assert.Equal(8, Unsafe.SizeOf<NvmlUtilization>());
        Assert.Equal(32, Unsafe.SizeOf<NvmlEventData>());
        Assert.Equal(40u | (2u << 24), NvmlMemoryV2.StructVersion);
    }
}

public sealed class PciAddressTests
{
    [Theory]
    [InlineData("00000000:18:00.0", "0000:18:00.0")]
    [InlineData("00000001:8A:00.0", "0001:8a:00.0")]
    [InlineData("00010000:01:00.0", "10000:01:00.0")]
    [InlineData("not a bus id", null)]
    public void SysfsName_NvmlBusId_IsSysfsDeviceName(string busId, string? expected) =>
        Assert.Equal(expected, PciAddress.SysfsName(busId));
}

public sealed class NvLinkTopologyTests
{
    [Fact]
    public void Peers_LinkEndsAtAnotherGpu_BothArePeers()
    {
        var peers = NvLinkTopology.Peers(
        [
            new NvLinkEnds("a", "0000:01:00.0", ["0000:02:00.0"]),
            new NvLinkEnds("b", "0000:02:00.0", ["0000:01:00.0"]),
            new NvLinkEnds("c", "0000:03:00.0", []),
        ]);

        Assert.Equal(["b"], peers["a"]);
        Assert.Equal(["a"], peers["b"]);
        Assert.Empty(peers["c"]);
    }

    [Fact]
    public void Peers_LinksToSameSwitch_ArePeersAcrossTheSwitch()
    {
        var peers = NvLinkTopology.Peers(
        [
            new NvLinkEnds("a", "0000:01:00.0", ["0000:c1:00.0"]),
            new NvLinkEnds("b", "0000:02:00.0", ["0000:c1:00.0"]),
            new NvLinkEnds("c", "0000:03:00.0", ["0000:c2:00.0"]),
        ]);

        Assert.Equal(["b"], peers["a"]);
        Assert.Equal(["a"], peers["b"]);
        Assert.Empty(peers["c"]);
    }

    [Theory]
    [InlineData("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "1g.5gb")]
    [InlineData("NVIDIA H100 80GB HBM3 MIG 1g.10gb+me", "1g.10gb+me")]
    [InlineData("Something else", "Something else")]
    public void MigProfile_MigDeviceName_IsPartAfterMig(string name, string expected) =>
        Assert.Equal(expected, NvmlInventoryReader.MigProfile(name));
}
