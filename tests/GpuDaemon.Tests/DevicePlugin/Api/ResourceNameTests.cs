using GpuDaemon.DevicePlugin.Api;

namespace GpuDaemon.Tests.DevicePlugin.Api;

public sealed class ResourceNameTests
{
    [Theory]
    [InlineData("nvidia.com/gpu")]
    [InlineData("nvidia.com/gpu.shared")]
    [InlineData("nvidia.com/mig-1g.10gb")]
    [InlineData("example.org/A_b-c.9")]
    public void Validate_KubeletAcceptable_Null(string name)
    {
        Assert.Null(ResourceName.Validate(name));
    }

    [Theory]
    [InlineData("gpu", "domain/name")]
    [InlineData("nvidia.com/", "domain/name")]
    [InlineData("a/b/c", "domain/name")]
    [InlineData("NVIDIA.com/gpu", "lowercase DNS subdomain")]
    [InlineData("kubernetes.io/gpu", "reserved")]
    [InlineData("x.kubernetes.io/gpu", "reserved")]
    [InlineData("nvidia.com/-gpu", "at most 63")]
    [InlineData("nvidia.com/gpu!", "at most 63")]
    public void Validate_KubeletWouldRefuse_SaysWhy(string name, string expected)
    {
        Assert.Contains(expected, ResourceName.Validate(name), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NameOf64Chars_Refused()
    {
        Assert.NotNull(ResourceName.Validate("nvidia.com/" + new string('a', 64)));
        Assert.Null(ResourceName.Validate("nvidia.com/" + new string('a', 63)));
    }

    [Fact]
    public void SocketFileName_Resource_BareNameWithoutSlash()
    {
        Assert.Equal("gpudaemon-nvidia.com-mig-1g.10gb.sock", ResourceName.SocketFileName("nvidia.com/mig-1g.10gb"));
    }
}
