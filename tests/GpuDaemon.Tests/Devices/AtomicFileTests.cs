using GpuDaemon.Devices;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Devices;

public sealed class AtomicFileTests
{
    [Fact]
    public void WriteText_ExistingFile_ReplacedWholeAndTemporaryGone()
    {
        using var dir = new TempDirectory();
        var path = dir.File("status");
        File.WriteAllText(path, "old content that is longer\n");

        AtomicFile.WriteText(path, "A=1\n", dir.File(".status.tmp"));

        Assert.Equal("A=1\n", File.ReadAllText(path));
        Assert.Equal(["status"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_RenameFails_TemporaryRemovedAndErrorThrown()
    {
        using var dir = new TempDirectory();
        var target = Directory.CreateDirectory(dir.File("taken")).FullName; // a folder cannot be replaced by a file

        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(target, "x"u8, dir.File(".taken.tmp")));

        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
