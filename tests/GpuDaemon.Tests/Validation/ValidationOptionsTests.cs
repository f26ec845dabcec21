using GpuDaemon.DevicePlugin;
using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

public sealed class ValidationOptionsTests
{
    [Fact]
    public void Defaults_Roots_AreTheSharedHostRootOfEveryCommand()
    {
        var options = new ValidationOptions();

        Assert.Equal(HostRoots.Default, options.DriverRoot);
        Assert.Equal(HostRoots.Default, options.DevRoot);
        Assert.Equal(HostRoots.Default, options.HostRoot);
        Assert.Equal(new PluginOptions().DevRoot, options.DevRoot);
    }

    [Fact]
    public void InstallerImage_NamedInRemedy_IsTheDockerfileTargetAndTheOverlayImage()
    {
        var dockerfile = File.ReadAllText(RepoFiles.Path("Dockerfile"));
        var overlay = string.Concat(Directory.GetFiles(RepoFiles.Path("deploy/overlays/driver-installer"), "*.yaml").Select(File.ReadAllText));

        Assert.Contains($"--target installer -t {ValidationDefaults.InstallerImage} ", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"image: {ValidationDefaults.InstallerImage}:", overlay, StringComparison.Ordinal);
        Assert.Contains("AS installer", dockerfile, StringComparison.Ordinal);
    }
}
