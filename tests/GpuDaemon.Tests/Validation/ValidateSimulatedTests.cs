using GpuDaemon.Cli;
using GpuDaemon.Devices.Simulated;
using GpuDaemon.Tests.TestSupport;
using GpuDaemon.Validation;

namespace GpuDaemon.Tests.Validation;

/// <summary>gpudaemon validate --simulation FILE: every failure shown without native libraries.</summary>
public sealed class ValidateSimulatedTests
{
    private static async Task<(CliResult Result, TempDirectory Dir)> ValidateAsync(Action<SimulationScenario> change, params string[] args)
    {
        var dir = new TempDirectory();
        var scenario = Gpus.Scenario(2, change);
        ScenarioReader.WriteFile(dir.File("scenario.json"), scenario);
        var result = await CliRunner.RunAsync(["validate", "--simulation", dir.File("scenario.json"), "--validation-dir", dir.File("v"), "--log-level", "none", .. args]);
        return (result, dir);
    }

    public static TheoryData<string, int, string> Failures => new()
    {
        { "driver-missing", ExitCodes.DriverFailed, "the NVIDIA kernel module is not loaded: the simulated driver is not loaded (driver.loaded is false" },
        { "driver-old", ExitCodes.DriverFailed, "driver 470.82.01 is older than --min-driver-version 535" },
        { "wrong-data", ExitCodes.CudaFailed, "the vector add returned 256 wrong sums of 1048576" },
        { "context-fails", ExitCodes.CudaFailed, "cannot create a context: cuCtxCreate_v2 failed (simulated: cuda.contextFails)" },
        { "uuid-differs", ExitCodes.ConsistencyFailed, "NVML and CUDA disagree about the GPUs: only NVML sees" },
        { "pcie", ExitCodes.DegradationFailed, "PCIe link width x4 of x16, gen 3 of 5" },
        { "remap-pending", ExitCodes.DegradationFailed, "row remapping pending" },
        { "remap-failed", ExitCodes.DegradationFailed, "a row remapping failed" },
        { "ecc", ExitCodes.DegradationFailed, "2 uncorrected ECC errors" },
        { "retired", ExitCodes.DegradationFailed, "retired pages pending" },
        { "thermal", ExitCodes.DegradationFailed, "clocks slowed: hwThermalSlowdown" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Validate_SimulatedFault_ExitCodeAndMessage(string fault, int exitCode, string message)
    {
        var (result, dir) = await ValidateAsync(s => Inject(s, fault), "--min-driver-version", "535", "--strict");
        using (dir)
        {
            Assert.True(result.ExitCode == exitCode, result.Output + result.Error);
            Assert.Contains(message, result.Output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir.File("v"), ValidationDefaults.DriverReadyFile)));
            Assert.False(File.Exists(Path.Combine(dir.File("v"), ValidationDefaults.CudaReadyFile)));
        }
    }

    [Fact]
    public async Task Validate_SimulatedHealthy_PassesAndWritesStatusFiles()
    {
        var (result, dir) = await ValidateAsync(_ => { });
        using (dir)
        {
            Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
            Assert.Matches(@"device-nodes\s+skip\s+\S+\s+simulated GPUs have no device nodes", result.Output);
            Assert.Equal("simulated", StatusFiles.Read(dir.File("v"), ValidationDefaults.CudaReadyFile)![StatusFiles.BackendKey]);
        }
    }

    [Fact]
    public async Task Validate_UnknownClockReasonInScenario_DriverFailsNamingIt()
    {
        var (result, dir) = await ValidateAsync(s => s.Gpus[0].Degradation = new SimulatedDegradation { ClockEventReasons = ["hot"] });
        using (dir)
        {
            Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
            Assert.Contains("has clockEventReason \"hot\"; known: hwSlowdown", result.Output, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string> BusyGpus => new()
    {
        { "exclusive", "busy: 2 compute processes, exclusive-process mode, not tested" },
        { "prohibited", "busy: prohibited mode, not tested" },
        { "memory-held", "busy: 1 compute process, not tested" },
    };

    [Theory]
    [MemberData(nameof(BusyGpus))]
    public async Task Validate_SimulatedBusyGpu_WarnsAndWritesStatusFiles(string busy, string message)
    {
        var (result, dir) = await ValidateAsync(
            s => s.Gpus[1].Cuda = busy switch
            {
                "exclusive" => new SimulatedCuda { ComputeMode = SimulatedComputeModes.ExclusiveProcess, ComputeProcesses = 2 },
                "prohibited" => new SimulatedCuda { ComputeMode = SimulatedComputeModes.Prohibited },
                _ => new SimulatedCuda { ContextFails = true, ComputeProcesses = 1 },
            },
            "--strict");
        using (dir)
        {
            Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
            Assert.Matches(@"cuda\s+warn\s+", result.Output);
            Assert.Contains("GPU 1 (", result.Output, StringComparison.Ordinal);
            Assert.Contains(message, result.Output, StringComparison.Ordinal);
            Assert.Equal(CheckNames.Cuda, StatusFiles.Read(dir.File("v"), ValidationDefaults.CudaReadyFile)![StatusFiles.WarningsKey]);
        }
    }

    [Fact]
    public async Task Validate_SimulatedExclusiveIdleGpu_IsTested()
    {
        var (result, dir) = await ValidateAsync(s => s.Gpus[1].Cuda = new SimulatedCuda { ComputeMode = SimulatedComputeModes.ExclusiveProcess });
        using (dir)
        {
            Assert.True(result.ExitCode == ExitCodes.Ok, result.Output + result.Error);
            Assert.Matches(@"cuda\s+ok\s+\S+\s+CUDA \S+: vector add of 4 MiB checked on 2 GPUs", result.Output);
        }
    }

    [Fact]
    public async Task Validate_SimulatedUnknownComputeMode_DriverFailsNamingIt()
    {
        var (result, dir) = await ValidateAsync(s => s.Gpus[0].Cuda = new SimulatedCuda { ComputeMode = "shared" });
        using (dir)
        {
            Assert.Equal(ExitCodes.DriverFailed, result.ExitCode);
            Assert.Contains("has cuda.computeMode \"shared\"; known: default, exclusiveProcess, prohibited", result.Output, StringComparison.Ordinal);
        }
    }

    private static void Inject(SimulationScenario scenario, string fault)
    {
        var gpu = scenario.Gpus[1];
        switch (fault)
        {
            case "driver-missing": scenario.Driver.Loaded = false; break;
            case "driver-old": scenario.Driver.Version = "470.82.01"; break;
            case "wrong-data": gpu.Cuda = new SimulatedCuda { KernelWrongData = true }; break;
            case "context-fails": gpu.Cuda = new SimulatedCuda { ContextFails = true }; break;
            case "uuid-differs": gpu.Cuda = new SimulatedCuda { Uuid = "GPU-0ddba11c-0000-4000-8000-0000000000ff" }; break;
            case "pcie": gpu.Degradation = new SimulatedDegradation { PcieLinkWidth = 4, PcieLinkWidthMax = 16, PcieLinkGeneration = 3, PcieLinkGenerationMax = 5 }; break;
            case "remap-pending": gpu.Degradation = new SimulatedDegradation { RemappedRowsPending = true }; break;
            case "remap-failed": gpu.Degradation = new SimulatedDegradation { RemappingFailed = true }; break;
            case "ecc": gpu.Degradation = new SimulatedDegradation { VolatileUncorrectedEcc = 2 }; break;
            case "retired": gpu.Degradation = new SimulatedDegradation { RetiredPagesPending = true }; break;
            case "thermal": gpu.Degradation = new SimulatedDegradation { ClockEventReasons = [SimulatedDegradationReasons.HwThermalSlowdown] }; break;
            default: throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }
}
