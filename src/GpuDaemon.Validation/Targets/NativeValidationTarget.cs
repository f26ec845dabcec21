using System.Globalization;
using GpuDaemon.Devices;
using GpuDaemon.Nvidia.Cuda;
using GpuDaemon.Nvidia.Loading;
using GpuDaemon.Nvidia.Nvml;

namespace GpuDaemon.Validation.Targets;

/// <summary>
/// The real thing: the kernel module's files under the host root, device nodes under the dev root, and NVML and the
/// CUDA driver loaded through the same resolver as serve (driver root, the GPU operator's folder, the loader path).
/// </summary>
internal sealed class NativeValidationTarget(NativeValidationSource source) : IValidationTarget
{
    private NvmlApi? _nvml;
    private CudaDriver? _cuda;

    public string Backend => "nvml";

    public string DriverRoot => source.DriverRoot;

    public KernelModuleState KernelModule()
    {
        var version = Path.Combine(source.HostRoot, "proc", "driver", "nvidia", "version");
        var module = Path.Combine(source.HostRoot, "sys", "module", "nvidia");
        if (File.Exists(version))
        {
            var first = ReadFirstLine(version);
            return new KernelModuleState(true, first is null ? version : $"{version}: {Excerpt.Of(first)}");
        }

        return Directory.Exists(module)
            ? new KernelModuleState(true, module)
            : new KernelModuleState(false, $"neither {version} nor {module} exists");
    }

    public ManagementInfo OpenManagement()
    {
        LoadedLibrary library;
        try
        {
            library = new NativeLibraryResolver(PhysicalHostFileSystem.Instance).Load(NvidiaLibrary.Nvml, source.DriverRoot);
        }
        catch (DeviceBackendException ex)
        {
            throw new ValidationStepException(ex.Message, remedy: null, ex);
        }

        var api = new NvmlApi(library);
        var init = api.Init();
        if (!init.IsSuccess)
        {
            throw new ValidationStepException(NvmlMessages.InitFailed(api.Error(init), library.Path), remedy: null);
        }

        _nvml = api;
        try
        {
            api.Check(api.SystemGetDriverVersion(out var driver));
            var nvmlVersion = api.SystemGetNvmlVersion(out var text).IsSuccess ? text : null;
            api.Check(api.DeviceGetCount(out var count));
            var gpus = new List<ManagedGpu>((int)count);
            for (uint i = 0; i < count; i++)
            {
                api.Check(api.DeviceGetHandleByIndex(i, out var handle));
                api.Check(api.DeviceGetUuid(handle, out var uuid));
                api.Check(api.DeviceGetMinorNumber(handle, out var minor));
                gpus.Add(new ManagedGpu((int)i, uuid, (int)minor, handle));
            }

            return new ManagementInfo(library.Path, driver, nvmlVersion, gpus);
        }
        catch (NvmlException ex)
        {
            throw new ValidationStepException(NvmlMessages.ListingFailed(ex, library.Path), remedy: null, ex);
        }
    }

    public DeviceNodeState? DeviceNode(string name)
    {
        var path = Path.Combine(source.DevRoot, "dev", name);
        return new DeviceNodeState(File.Exists(path), path);
    }

    public CudaInfo OpenCuda()
    {
        try
        {
            var cuda = CudaDriver.Load(source.DriverRoot);
            cuda.Initialize();
            var version = cuda.DriverVersion();
            var gpus = new List<CudaGpu>();
            for (var i = 0; i < cuda.DeviceCount(); i++)
            {
                var device = cuda.GetDevice(i);
                gpus.Add(new CudaGpu(i, device.Uuid, device.Name));
            }

            _cuda = cuda;
            return new CudaInfo(cuda.LibraryPath, version, gpus);
        }
        catch (DeviceBackendException ex)
        {
            throw new ValidationStepException(ex.Message, remedy: null, ex);
        }
        catch (CudaException ex)
        {
            var sticky = ex.Function == "cuInit";
            throw new ValidationStepException(
                $"the CUDA driver did not start: {ex.Message}",
                sticky ? CudaRemedy(ex.Code) + "; the CUDA driver keeps a failed cuInit for the life of the process, so --wait does not retry it: the kubelet restarts the init container to try again" : CudaRemedy(ex.Code),
                ex)
            {
                NeedsNewProcess = sticky,
            };
        }
    }

    public void RunVectorAdd(CudaGpu gpu, uint[] a, uint[] b, uint[] sums)
    {
        var cuda = _cuda ?? throw new InvalidOperationException("OpenCuda first");
        var step = "create a context";
        try
        {
            var device = cuda.GetDevice(gpu.Ordinal);
            using var context = cuda.CreateContext(device);
            step = "load the vector-add PTX";
            using var module = context.LoadModule(VectorAddKernel.Ptx);
            var kernel = module.GetFunction(VectorAddKernel.EntryName);
            step = "allocate and copy memory";
            var bytes = (long)a.Length * sizeof(uint);
            using var left = context.Allocate(bytes);
            using var right = context.Allocate(bytes);
            using var result = context.Allocate(bytes);
            left.CopyFrom<uint>(a);
            right.CopyFrom<uint>(b);
            step = "run the kernel";
            var blocks = (uint)((a.Length + VectorAddKernel.BlockSize - 1) / VectorAddKernel.BlockSize);
            context.Launch(kernel, new CudaDim3(blocks), new CudaDim3(VectorAddKernel.BlockSize),
                new CudaKernelArguments().Add(left).Add(right).Add(result).Add((uint)a.Length));
            context.Synchronize();
            step = "copy the result back";
            result.CopyTo<uint>(sums);
        }
        catch (CudaException ex)
        {
            var holdable = step is "create a context" or "allocate and copy memory";
            throw new ValidationStepException(
                string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Ordinal} ({gpu.Uuid}): cannot {step}: {ex.Message}"),
                CudaRemedy(ex.Code), ex)
            {
                MayMeanBusy = holdable && ex.Code is CudaResult.OutOfMemory or CudaResult.DevicesUnavailable,
            };
        }
    }

    public GpuComputeUse ReadComputeUse(ManagedGpu gpu)
    {
        var api = _nvml ?? throw new InvalidOperationException("OpenManagement first");
        string? exclusive = null;
        if (api.DeviceGetComputeMode(gpu.Handle, out var mode).IsSuccess)
        {
            exclusive = mode switch
            {
                NvmlComputeMode.ExclusiveProcess => GpuComputeUse.ExclusiveProcessMode,
                NvmlComputeMode.ExclusiveThread => GpuComputeUse.ExclusiveThreadMode,
                NvmlComputeMode.Prohibited => GpuComputeUse.ProhibitedMode,
                _ => null,
            };
        }

        int? processes = api.DeviceGetComputeRunningProcessCount(gpu.Handle, out var count).IsSuccess ? (int)count : null;
        return new GpuComputeUse(exclusive, processes);
    }

    public GpuDegradation ReadDegradation(ManagedGpu gpu)
    {
        var reading = new NvmlDegradationReader(_nvml ?? throw new InvalidOperationException("OpenManagement first")).Read(gpu.Handle);
        return new GpuDegradation
        {
            PcieLinkGeneration = (int?)reading.PcieLinkGeneration,
            PcieLinkGenerationMax = (int?)reading.PcieLinkGenerationMax,
            PcieLinkWidth = (int?)reading.PcieLinkWidth,
            PcieLinkWidthMax = (int?)reading.PcieLinkWidthMax,
            RemappedRowsPending = reading.RemappedRows?.Pending,
            RemappingFailed = reading.RemappedRows?.Failed,
            VolatileUncorrectedEcc = (long?)reading.VolatileUncorrectedEcc,
            RetiredPagesPending = reading.RetiredPagesPending,
            ClockSlowdownReasons = reading.ClockEventReasons is { } reasons ? SlowdownNames(reasons) : null,
            Problems = [.. reading.Problems.Select(p => new ReadingProblem(CheckFed(p.Function), p.Message))],
        };
    }

    public void Dispose()
    {
        // The CUDA driver has no shutdown; its contexts are destroyed as each run ends.
        _nvml?.Shutdown();
        _nvml = null;
    }

    /// <summary>The degradation check an NVML call's reading feeds.</summary>
    private static string CheckFed(string function) => function switch
    {
        "nvmlDeviceGetRemappedRows" => DegradationChecks.RowRemapping,
        "nvmlDeviceGetTotalEccErrors" => DegradationChecks.UncorrectedEcc,
        "nvmlDeviceGetRetiredPagesPendingStatus" => DegradationChecks.RetiredPages,
        _ when function.StartsWith("nvmlDeviceGetCurrentClocks", StringComparison.Ordinal) => DegradationChecks.ClockSlowdown,
        _ => DegradationChecks.PcieLink,
    };

    private static List<string> SlowdownNames(NvmlClockEventReasons reasons)
    {
        var names = new List<string>();
        if (reasons.HasFlag(NvmlClockEventReasons.HwSlowdown))
        {
            names.Add("hwSlowdown");
        }

        if (reasons.HasFlag(NvmlClockEventReasons.HwThermalSlowdown))
        {
            names.Add("hwThermalSlowdown");
        }

        if (reasons.HasFlag(NvmlClockEventReasons.SwThermalSlowdown))
        {
            names.Add("swThermalSlowdown");
        }

        if (reasons.HasFlag(NvmlClockEventReasons.HwPowerBrakeSlowdown))
        {
            names.Add("hwPowerBrakeSlowdown");
        }

        return names;
    }

    private static string CudaRemedy(CudaResult code) => code switch
    {
        CudaResult.NoDevice => "the CUDA driver sees no GPU: check that the container has the NVIDIA device nodes (runtimeClassName: nvidia) and that CUDA_VISIBLE_DEVICES is not empty",
        CudaResult.OutOfMemory => "the GPU is out of memory: check with nvidia-smi for processes holding it",
        _ => "check the GPU with nvidia-smi and dmesg (Xid errors) on the node; a GPU that keeps failing needs a reset or a reboot",
    };

    private static string? ReadFirstLine(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            var buffer = new char[256];
            var read = reader.ReadBlock(buffer, 0, buffer.Length);
            return new string(buffer, 0, read).Split('\n')[0].Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
