using GpuDaemon.Cli;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

/// <summary>gpudaemon validate on the stand-in NVML and CUDA libraries and fake host trees: every failure, its exit code, its message, and no status file.</summary>
public sealed class ValidateNativeTests
{
    private const string Gpu0 = "GPU-5eed0000-0000-4000-8000-000000000000";
    private const string Gpu1 = "GPU-5eed0000-0000-4000-8000-000000000001";

    [Fact]
    public async Task Validate_WorkingNode_PassesAndWritesBothStatusFiles()
    {
        using var node = new ValidationNode();

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Matches(@"cuda\s+ok\s+\S+\s+CUDA 12\.4: vector add of 4 MiB checked on 2 GPUs", result.Output);
        Assert.Contains("ready: driver 550.127.05, CUDA 12.4, 2 GPUs; wrote driver-ready and cuda-ready in " + node.ValidationDir, result.Output, StringComparison.Ordinal);
        var driver = node.ReadStatus(ValidationDefaults.DriverReadyFile);
        Assert.Equal("550.127.05", driver[StatusFiles.DriverVersionKey]);
        Assert.Equal(node.Driver.Root, driver[StatusFiles.DriverRootKey]);
        Assert.Equal("2", driver[StatusFiles.GpuCountKey]);
        Assert.Equal("nvml", driver[StatusFiles.BackendKey]);
        var cuda = node.ReadStatus(ValidationDefaults.CudaReadyFile);
        Assert.Equal("12.4", cuda[StatusFiles.CudaVersionKey]);
        Assert.Equal(string.Empty, cuda[StatusFiles.WarningsKey]);
        Assert.True(DateTimeOffset.TryParse(cuda[StatusFiles.ValidatedAtKey], System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task Validate_ModuleMissing_DriverExitCodeWithRemedyAndStaleFilesRemoved()
    {
        using var node = new ValidationNode();
        Directory.CreateDirectory(node.ValidationDir);
        File.WriteAllText(node.StatusFile(ValidationDefaults.DriverReadyFile), "DRIVER_VERSION=1\n");
        File.WriteAllText(node.StatusFile(ValidationDefaults.CudaReadyFile), "DRIVER_VERSION=1\n");
        node.UnloadModule();

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
        Assert.Contains("not ready: driver failed: the NVIDIA kernel module is not loaded: neither " + node.ModuleVersionFile, result.Output, StringComparison.Ordinal);
        Assert.Contains("--install-command", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"cuda\s+skip", result.Output);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_SysModuleOnly_CountsAsLoaded()
    {
        using var node = new ValidationNode();
        node.UnloadModule();
        Directory.CreateDirectory(Path.Combine(node.HostRoot, "sys", "module", "nvidia"));

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output);
    }

    [Fact]
    public async Task Validate_LibraryMissing_DriverExitCodeNamesFileAndPlaces()
    {
        using var node = new ValidationNode();
        File.Delete(node.Driver.NvmlLibrary);

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
        Assert.Contains("cannot load NVML: libnvidia-ml.so.1 is not in " + node.Driver.Root, result.Output, StringComparison.Ordinal);
        Assert.Contains("--driver-root", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_NvmlInitFailing_DriverExitCodeWithNvmlReason()
    {
        using var node = new ValidationNode("fail.nvmlInit_v2 = 9");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
        Assert.Contains("NVML did not start: nvmlInit_v2 returned", result.Output, StringComparison.Ordinal);
        Assert.Contains("the NVIDIA kernel module is not loaded on this node", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_DriverTooOld_DriverExitCodeNamesBothVersions()
    {
        using var node = new ValidationNode();

        var result = await node.ValidateAsync("--min-driver-version", "560.28");

        Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
        Assert.Contains("driver 550.127.05 is older than --min-driver-version 560.28; upgrade the driver", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_CudaTooOld_CudaExitCode()
    {
        using var node = new ValidationNode("cuda = 12020");

        var result = await node.ValidateAsync("--min-cuda-version", "12.4");

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains("the driver supports CUDA 12.2, older than --min-cuda-version 12.4", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_DeviceNodeMissing_DeviceNodesExitCodeNamesThePath()
    {
        using var node = new ValidationNode();
        var missing = Path.Combine(node.DevRoot, "dev", "nvidia1");
        File.Delete(missing);

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.DeviceNodesFailed, result.ExitCode);
        Assert.Contains($"missing device nodes: {missing}; the driver creates them", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_KernelReturnsWrongData_CudaExitCodeCountsWrongSums()
    {
        // The stand-in runs the PTX's kernel for real through the binding; this GPU gets every 4096th sum wrong.
        using var node = new ValidationNode("gpu1.kernel_wrong_data = 1");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains($"GPU 1 ({Gpu1}): the vector add returned 256 wrong sums of 1048576 (first at index 0: 1 instead of 0)", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("GPU 0 (", result.Output, StringComparison.Ordinal);
        Assert.Contains("needs a reset, a reboot or a repair", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_ContextCreationFails_CudaExitCodeNamesGpuAndCall()
    {
        using var node = new ValidationNode("gpu0.fail.cuCtxCreate_v2 = 2");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains($"GPU 0 ({Gpu0}): cannot create a context: cuCtxCreate_v2 returned CUDA_ERROR_OUT_OF_MEMORY", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_ExclusiveGpuHeldByAJob_WarnsBusyNotTestedAndPasses()
    {
        using var node = new ValidationNode("gpu1.compute_mode = 3\ngpu1.compute_processes = 1\ngpu1.fail.cuCtxCreate_v2 = 46");

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Matches($@"cuda\s+warn\s+\S+\s+CUDA 12\.4: vector add of 4 MiB checked on 1 GPUs .*; GPU 1 \({Gpu1}\): busy: 1 compute process, exclusive-process mode, not tested; jobs hold these GPUs", result.Output);
        Assert.Equal(CheckNames.Cuda, node.ReadStatus(ValidationDefaults.CudaReadyFile)[StatusFiles.WarningsKey]);
        Assert.True(File.Exists(node.StatusFile(ValidationDefaults.DriverReadyFile)));
    }

    [Fact]
    public async Task Validate_OutOfMemoryOnGpuWithProcesses_WarnsBusy()
    {
        using var node = new ValidationNode("gpu0.compute_processes = 3\ngpu0.fail.cuMemAlloc_v2 = 2");

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Contains($"GPU 0 ({Gpu0}): busy: 3 compute processes, not tested", result.Output, StringComparison.Ordinal);
        Assert.True(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_EveryGpuBusy_WarnsThatNoneWasTested()
    {
        using var node = new ValidationNode("fail.cuCtxCreate_v2 = 46\ngpu0.compute_mode = 2\ngpu1.compute_mode = 2");

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Contains("CUDA 12.4 started; no GPU was free to test; GPU 0 (", result.Output, StringComparison.Ordinal);
        Assert.Contains($"GPU 1 ({Gpu1}): busy: prohibited mode, not tested", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_BusyGpuFailingAnotherWay_StillFails()
    {
        // Jobs run on the GPU, but an error other than out-of-memory or devices-unavailable is the GPU's own.
        using var node = new ValidationNode("gpu0.compute_processes = 2\ngpu0.fail.cuCtxCreate_v2 = 999");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains($"GPU 0 ({Gpu0}): cannot create a context: cuCtxCreate_v2 returned CUDA_ERROR_UNKNOWN", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_DevicesUnavailableOnIdleGpu_StillFails()
    {
        using var node = new ValidationNode("gpu1.fail.cuCtxCreate_v2 = 46");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains($"GPU 1 ({Gpu1}): cannot create a context: cuCtxCreate_v2 returned CUDA_ERROR_DEVICES_UNAVAILABLE", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_MaxwellAndPascalGpus_RunTheKernel()
    {
        // The stand-in refuses PTX whose .target is newer than the GPU, as the driver's JIT does.
        using var node = new ValidationNode("gpu0.compute_capability = 5.2\ngpu1.compute_capability = 6.0");

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Matches(@"cuda\s+ok\s+\S+\s+CUDA 12\.4: vector add of 4 MiB checked on 2 GPUs", result.Output);
    }

    [Fact]
    public async Task Validate_CudaInitFails_CudaExitCode()
    {
        using var node = new ValidationNode("fail.cuInit = 100");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Contains("the CUDA driver did not start: cuInit returned CUDA_ERROR_NO_DEVICE", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_LibcudaMissing_CudaExitCodeNamesTheLibrary()
    {
        using var node = new ValidationNode();
        File.Delete(Path.Combine(node.Driver.LibraryFolder, "libcuda.so.1"));

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        Assert.Matches(@"driver\s+ok", result.Output);
        Assert.Contains("not ready: cuda failed: cannot load the CUDA driver: libcuda.so.1", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_CudaSeesOtherUuid_ConsistencyExitCodeNamesBoth()
    {
        const string other = "GPU-0ddba11c-0000-4000-8000-0000000000ff";
        using var node = new ValidationNode($"gpu1.cuda_uuid = {other}");

        var result = await node.ValidateAsync();

        Assert.Equal(ExitCodes.ConsistencyFailed, result.ExitCode);
        Assert.Contains($"NVML and CUDA disagree about the GPUs: only NVML sees {Gpu1}; only CUDA sees {other}", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    public static TheoryData<string, string, string> Degradations => new()
    {
        { "gpu1.pcie_width = 8", DegradationChecks.PcieLink, $"GPU 1 ({Gpu1}): PCIe link width x8 of x16" },
        { "gpu0.pcie_gen = 3", DegradationChecks.PcieLink, $"GPU 0 ({Gpu0}): PCIe link gen 3 of 5" },
        { "gpu1.remapped_pending = 1", DegradationChecks.RowRemapping, $"GPU 1 ({Gpu1}): row remapping pending (needs a GPU reset)" },
        { "gpu1.remapped_failed = 1", DegradationChecks.RowRemapping, $"GPU 1 ({Gpu1}): a row remapping failed" },
        { "gpu0.ecc_uncorrected = 3", DegradationChecks.UncorrectedEcc, $"GPU 0 ({Gpu0}): 3 uncorrected ECC errors since the driver loaded" },
        { "gpu0.retired_pages_pending = 1", DegradationChecks.RetiredPages, $"GPU 0 ({Gpu0}): retired pages pending (needs a driver reload)" },
        { "gpu1.clock_event_reasons = 0x8", DegradationChecks.ClockSlowdown, $"GPU 1 ({Gpu1}): clocks slowed: hwSlowdown" },
        { "gpu1.clock_event_reasons = 0x60", DegradationChecks.ClockSlowdown, $"GPU 1 ({Gpu1}): clocks slowed: hwThermalSlowdown, swThermalSlowdown" },
        // A driver without the clocks-event call: the older throttle-reasons call answers the same bits.
        { "fail.nvmlDeviceGetCurrentClocksEventReasons = 13\ngpu0.clock_event_reasons = 0x40", DegradationChecks.ClockSlowdown, $"GPU 0 ({Gpu0}): clocks slowed: hwThermalSlowdown" },
    };

    [Theory]
    [MemberData(nameof(Degradations))]
    public async Task Validate_Degradation_WarnsPassesAndRecordsTheWarning(string scenario, string check, string detail)
    {
        using var node = new ValidationNode(scenario);

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output);
        Assert.Matches($@"{check}\s+warn\s+\S+\s+{System.Text.RegularExpressions.Regex.Escape(detail)}", result.Output);
        Assert.Contains("1 warning;", result.Output, StringComparison.Ordinal);
        Assert.Equal(check, node.ReadStatus(ValidationDefaults.CudaReadyFile)[StatusFiles.WarningsKey]);
    }

    [Theory]
    [MemberData(nameof(Degradations))]
    public async Task Validate_DegradationStrict_DegradationExitCodeAndNoFiles(string scenario, string check, string detail)
    {
        using var node = new ValidationNode(scenario);

        var result = await node.ValidateAsync("--strict");

        Assert.Equal(ExitCodes.DegradationFailed, result.ExitCode);
        Assert.Contains($"not ready: {check} failed: {detail}", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_StrictChecksNamesOne_OnlyThatOneFails()
    {
        using var node = new ValidationNode("gpu0.ecc_uncorrected = 1\ngpu1.pcie_width = 8");

        var lenient = await node.ValidateAsync("--strict-checks", DegradationChecks.RowRemapping);
        var strict = await node.ValidateAsync("--strict-checks", $"{DegradationChecks.RowRemapping},{DegradationChecks.UncorrectedEcc}");

        Assert.True(lenient.ExitCode == ExitCodes.Ok, lenient.Output);
        Assert.Equal(ExitCodes.DegradationFailed, strict.ExitCode);
        Assert.Contains("not ready: ecc-uncorrected failed", strict.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_StrictChecksFromConfigFile_Applies()
    {
        using var node = new ValidationNode("gpu0.retired_pages_pending = 1");
        var config = node.Scratch("config.yaml");
        File.WriteAllText(config, $"strictChecks: {DegradationChecks.RetiredPages}\n");

        var result = await node.ValidateAsync("--config", config);

        Assert.Equal(ExitCodes.DegradationFailed, result.ExitCode);
    }

    [Fact]
    public async Task Validate_UnknownStrictCheck_UsageError()
    {
        using var node = new ValidationNode();

        var result = await node.ValidateAsync("--strict-checks", "pcie");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--strict-checks: 'pcie' is not a degradation check", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_DegradationNotSupported_IsNotReportedNotAFailure()
    {
        using var node = new ValidationNode("""
            fail.nvmlDeviceGetCurrPcieLinkGeneration = 3
            fail.nvmlDeviceGetMaxPcieLinkGeneration = 3
            fail.nvmlDeviceGetCurrPcieLinkWidth = 3
            fail.nvmlDeviceGetMaxPcieLinkWidth = 3
            fail.nvmlDeviceGetRetiredPagesPendingStatus = 3
            """);

        var result = await node.ValidateAsync("--strict");

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output);
        Assert.Matches(@"pcie-link\s+ok\s+\S+\s+not reported by these GPUs", result.Output);
        Assert.Matches(@"retired-pages\s+ok\s+\S+\s+not reported by these GPUs", result.Output);
    }

    [Fact]
    public async Task Validate_DegradationReadError_WarnsNamingTheCall()
    {
        using var node = new ValidationNode("gpu0.fail.nvmlDeviceGetRetiredPagesPendingStatus = 15");

        var result = await node.ValidateAsync();

        Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
        Assert.Matches($@"retired-pages\s+warn\s+\S+\s+GPU 0 \({Gpu0}\): cannot read it: nvmlDeviceGetRetiredPagesPendingStatus returned NVML_ERROR_GPU_IS_LOST", result.Output);
        Assert.Contains("nvidia-smi -q", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"ecc-uncorrected\s+ok", result.Output);
        Assert.Equal(DegradationChecks.RetiredPages, node.ReadStatus(ValidationDefaults.CudaReadyFile)[StatusFiles.WarningsKey]);
    }

    [Fact]
    public async Task Validate_DegradationReadErrorStrict_DegradationExitCodeAndNoFiles()
    {
        using var node = new ValidationNode("gpu1.fail.nvmlDeviceGetTotalEccErrors = 999");

        var result = await node.ValidateAsync("--strict");

        Assert.Equal(ExitCodes.DegradationFailed, result.ExitCode);
        Assert.Contains($"not ready: ecc-uncorrected failed: GPU 1 ({Gpu1}): cannot read it: nvmlDeviceGetTotalEccErrors returned NVML_ERROR_UNKNOWN", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }

    [Fact]
    public async Task Validate_JsonOutput_HasVerdictExitCodeAndChecks()
    {
        using var node = new ValidationNode("gpu1.kernel_wrong_data = 1");

        var result = await node.ValidateAsync("--output", "json");

        Assert.Equal(ExitCodes.CudaFailed, result.ExitCode);
        using var json = System.Text.Json.JsonDocument.Parse(result.Output);
        var root = json.RootElement;
        Assert.False(root.GetProperty("ready").GetBoolean());
        Assert.Equal("cuda-failed", root.GetProperty("verdict").GetString());
        Assert.Equal(ExitCodes.CudaFailed, root.GetProperty("exitCode").GetInt32());
        var cuda = root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "cuda");
        Assert.Equal("fail", cuda.GetProperty("result").GetString());
        Assert.Contains("wrong sums", cuda.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(root.GetProperty("statusFiles").EnumerateArray());
    }

    [Fact]
    public async Task Validate_WaitWithZeroTimeout_WaitTimedOutExitCode()
    {
        using var node = new ValidationNode();
        node.UnloadModule();

        var result = await node.ValidateAsync("--wait", "--timeout", "0s");

        Assert.Equal(ExitCodes.WaitTimedOut, result.ExitCode);
        Assert.Contains("still not ready after --timeout 0s; last failure at driver: the NVIDIA kernel module is not loaded", result.Output, StringComparison.Ordinal);
        Assert.False(node.HasStatusFiles);
    }
}
