using GpuDaemon.DevicePlugin.Kubelet;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.DevicePlugin.Kubelet;

public sealed class FileIdentityTests
{
    [Fact]
    public void Of_SameFileAfterChmod_SameIdentity()
    {
        using var dir = new TempDirectory();
        var path = dir.File("kubelet.sock");
        File.WriteAllText(path, string.Empty);
        var before = FileIdentity.Of(path);

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        Assert.Equal(before, FileIdentity.Of(path));
    }

    [Fact]
    public void Of_FileRecreated_DifferentIdentity()
    {
        using var dir = new TempDirectory();
        var path = dir.File("kubelet.sock");
        File.WriteAllText(path, string.Empty);
        var before = FileIdentity.Of(path);

        File.Delete(path);
        File.WriteAllText(path, string.Empty);
        File.SetLastWriteTimeUtc(path, before!.Value.Modified.AddTicks(1));

        Assert.NotEqual(before, FileIdentity.Of(path));
    }

    [Fact]
    public void Of_Missing_Null()
    {
        using var dir = new TempDirectory();

        Assert.Null(FileIdentity.Of(dir.File("none")));
    }
}
