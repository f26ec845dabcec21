using System.Runtime.InteropServices;
using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Loading;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Nvidia.Loading;

public sealed class NativeLibraryResolverTests
{
    private static readonly string Triplet = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu";

    [Fact]
    public void CandidateFolders_HostRoot_SearchesUsualFoldersThenOperatorDriver()
    {
        var folders = NativeLibraryResolver.CandidateFolders("/");

        Assert.Equal($"/usr/lib/{Triplet}", folders[0]);
        Assert.Equal("/usr/lib64", folders[1]);
        Assert.Equal("/usr/lib", folders[2]);
        Assert.Contains($"/run/nvidia/driver/usr/lib/{Triplet}", folders);
        Assert.True(folders.ToList().IndexOf("/usr/lib") < folders.ToList().IndexOf($"/run/nvidia/driver/usr/lib/{Triplet}"));
        Assert.True(NativeLibraryResolver.SearchesLoaderPath("/"));
    }

    [Fact]
    public void CandidateFolders_NamedRoot_StaysUnderIt()
    {
        var folders = NativeLibraryResolver.CandidateFolders("/run/nvidia/driver");

        Assert.All(folders, f => Assert.StartsWith("/run/nvidia/driver/", f, StringComparison.Ordinal));
        Assert.Contains("/run/nvidia/driver/usr/lib64", folders);
        Assert.False(NativeLibraryResolver.SearchesLoaderPath("/run/nvidia/driver"));
    }

    [Fact]
    public void Load_LibraryInNoFolder_ThrowsOneLineNamingFileFoldersAndRemedies()
    {
        var fileSystem = new FakeHostFileSystem();
        var resolver = new NativeLibraryResolver(fileSystem);

        var error = Assert.Throws<DeviceBackendException>(() => resolver.Load(NvidiaLibrary.Nvml, "/opt/driver"));

        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("cannot load NVML: libnvidia-ml.so.1 is not in /opt/driver/usr/lib/", error.Message, StringComparison.Ordinal);
        Assert.Contains("/opt/driver/usr/lib64", error.Message, StringComparison.Ordinal);
        Assert.Contains("runtimeClassName: nvidia", error.Message, StringComparison.Ordinal);
        Assert.Contains("--driver-root", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("loader path", error.Message, StringComparison.Ordinal);
        Assert.Equal(NativeLibraryResolver.CandidateFolders("/opt/driver").Select(f => Path.Combine(f, "libnvidia-ml.so.1")), fileSystem.Probed);
    }

    [Fact]
    public void Load_FileThatIsNotALibrary_SaysTheLoaderRefusedIt()
    {
        using var root = new TempDirectory();
        var folder = Path.Combine(root.Path, "usr", "lib64");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "libcuda.so.1"), "not an ELF file");
        var resolver = new NativeLibraryResolver(PhysicalHostFileSystem.Instance);

        var error = Assert.Throws<DeviceBackendException>(() => resolver.Load(NvidiaLibrary.Cuda, root.Path));

        Assert.StartsWith($"cannot load the CUDA driver from {Path.Combine(folder, "libcuda.so.1")}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("the loader refused it", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Load_StandInUnderDriverRoot_LoadsThatFile()
    {
        using var driver = new StandInDriver();
        var resolver = new NativeLibraryResolver(PhysicalHostFileSystem.Instance);

        var library = resolver.Load(NvidiaLibrary.Nvml, driver.Root);

        Assert.Equal(driver.NvmlLibrary, library.Path);
        Assert.NotEqual(0, library.Export("nvmlInit_v2"));
        Assert.Equal(0, library.Export("nvmlNoSuchFunction"));
    }
}
