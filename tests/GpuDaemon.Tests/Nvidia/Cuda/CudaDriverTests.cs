using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Cuda;
using GpuDaemon.Tests.Nvidia.StandIns;
using GpuDaemon.Tests.TestSupport;

namespace GpuDaemon.Tests.Nvidia.Cuda;

public sealed class CudaDriverTests
{
    // The one kernel the stand-in emulates; the validator ships it and a real driver compiles and runs the same PTX.
    private const string VectorAddPtx = VectorAddKernel.Ptx;

    [Fact]
    public void GetDevice_StandInGpus_ReadsNameUuidMemoryAndComputeCapability()
    {
        using var driver = new StandInDriver("""
            cuda = 12080
            gpus = 2
            gpu1.name = NVIDIA L4
            gpu1.uuid = GPU-0b1e2c3d-4e5f-6071-8293-a4b5c6d7e8f9
            gpu1.memory_total_mib = 23034
            gpu1.compute_capability = 8.9
            """);
        var cuda = CudaDriver.Load(driver.Root);

        cuda.Initialize();

        Assert.Equal(12080, cuda.DriverVersion());
        Assert.Equal("12.8", CudaDriver.FormatVersion(cuda.DriverVersion()));
        Assert.Equal(2, cuda.DeviceCount());
        Assert.Equal(
            new CudaDeviceInfo(1, "NVIDIA L4", "GPU-0b1e2c3d-4e5f-6071-8293-a4b5c6d7e8f9", 23034UL * 1024 * 1024, 8, 9),
            cuda.GetDevice(1));
        Assert.Equal("8.9", cuda.GetDevice(1).ComputeCapability);
        Assert.Equal(Path.Combine(driver.LibraryFolder, "libcuda.so.1"), cuda.LibraryPath);
    }

    [Fact]
    public void Launch_VectorAddFromPtx_ComputesSums()
    {
        using var driver = new StandInDriver("gpus = 1");
        var cuda = CudaDriver.Load(driver.Root);
        cuda.Initialize();
        const int n = 1000;
        uint[] a = [.. Enumerable.Range(0, n).Select(i => (uint)i)];
        uint[] b = [.. Enumerable.Range(0, n).Select(i => (uint)(2 * i))];
        var sums = new uint[n];

        using (var context = cuda.CreateContext(cuda.GetDevice(0)))
        using (var module = context.LoadModule(VectorAddPtx))
        using (var left = context.Allocate(n * sizeof(uint)))
        using (var right = context.Allocate(n * sizeof(uint)))
        using (var result = context.Allocate(n * sizeof(uint)))
        {
            left.CopyFrom<uint>(a);
            right.CopyFrom<uint>(b);
            var kernel = module.GetFunction("vector_add_u32");
            context.Launch(kernel, new CudaDim3((n + 255) / 256), new CudaDim3(256), new CudaKernelArguments().Add(left).Add(right).Add(result).Add((uint)n));
            context.Synchronize();
            result.CopyTo<uint>(sums);
        }

        Assert.Equal(Enumerable.Range(0, n).Select(i => (uint)(3 * i)), sums);
    }

    [Fact]
    public void LoadModule_PtxForNewerArchitecture_InvalidPtxAsTheJitAnswers()
    {
        using var driver = new StandInDriver("gpus = 1\ngpu0.compute_capability = 6.1");
        var cuda = CudaDriver.Load(driver.Root);
        cuda.Initialize();
        using var context = cuda.CreateContext(cuda.GetDevice(0));

        var error = Assert.Throws<CudaException>(() => context.LoadModule(VectorAddPtx.Replace(".target sm_50", ".target sm_70", StringComparison.Ordinal)));

        Assert.Equal(CudaResult.InvalidPtx, error.Code);
    }

    [Theory]
    [InlineData("5.0")] // Maxwell
    [InlineData("6.1")] // Pascal
    public void LoadModule_ShippedPtxOnOldestSupportedGpus_Loads(string computeCapability)
    {
        using var driver = new StandInDriver($"gpus = 1\ngpu0.compute_capability = {computeCapability}");
        var cuda = CudaDriver.Load(driver.Root);
        cuda.Initialize();
        using var context = cuda.CreateContext(cuda.GetDevice(0));

        using var module = context.LoadModule(VectorAddPtx);

        Assert.Contains(".version 6.0\n", VectorAddPtx, StringComparison.Ordinal);
        Assert.Contains(".target sm_50\n", VectorAddPtx, StringComparison.Ordinal);
    }

    [Fact]
    public void Initialize_NoDevice_ThrowsCudaExceptionWithDriverNameAndText()
    {
        using var driver = new StandInDriver("fail.cuInit = 100");
        var cuda = CudaDriver.Load(driver.Root);

        var error = Assert.Throws<CudaException>(cuda.Initialize);

        Assert.Equal("cuInit", error.Function);
        Assert.Equal(CudaResult.NoDevice, error.Code);
        Assert.Equal("cuInit returned CUDA_ERROR_NO_DEVICE (100: no CUDA-capable device is detected)", error.Message);
    }

    [Fact]
    public void LoadModule_NotPtx_ThrowsInvalidPtx()
    {
        using var driver = new StandInDriver("gpus = 1");
        using var context = CreateContext(driver);

        var error = Assert.Throws<CudaException>(() => context.LoadModule("this is not PTX"));

        Assert.Equal(CudaResult.InvalidPtx, error.Code);
        Assert.Equal("cuModuleLoadData", error.Function);
    }

    [Fact]
    public void GetFunction_NameNotInModule_ThrowsNotFound()
    {
        using var driver = new StandInDriver("gpus = 1");
        using var context = CreateContext(driver);
        using var module = context.LoadModule(VectorAddPtx);

        var error = Assert.Throws<CudaException>(() => module.GetFunction("missing_kernel"));

        Assert.Equal(CudaResult.NotFound, error.Code);
    }

    [Fact]
    public async Task Allocate_FromAnotherThread_MakesContextCurrentFirst()
    {
        using var driver = new StandInDriver("gpus = 1");
        using var context = CreateContext(driver);

        var length = await Task.Factory.StartNew(
            () =>
            {
                using var buffer = context.Allocate(64);
                return buffer.Length;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        Assert.Equal(64, length);
    }

    [Fact]
    public void Load_NoLibraryUnderDriverRoot_ThrowsMessageNamingLibcuda()
    {
        using var empty = new TempDirectory();

        var error = Assert.Throws<DeviceBackendException>(() => CudaDriver.Load(empty.Path));

        Assert.StartsWith("cannot load the CUDA driver: libcuda.so.1 is not in ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatUuid_SixteenBytes_IsNvmlStyle() =>
        Assert.Equal(
            "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f",
            CudaDriver.FormatUuid([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));

    private static CudaContext CreateContext(StandInDriver driver)
    {
        var cuda = CudaDriver.Load(driver.Root);
        cuda.Initialize();
        return cuda.CreateContext(cuda.GetDevice(0));
    }
}
