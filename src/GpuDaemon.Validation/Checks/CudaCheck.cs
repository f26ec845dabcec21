using System.Globalization;
using GpuDaemon.Devices;

namespace GpuDaemon.Validation.Checks;

/// <summary>
/// The CUDA driver loads and starts, is new enough, and on every GPU it sees runs the vector-add kernel on a few MiB
/// with every sum checked; each GPU's run is timed. A GPU whose context or memory is refused (out of memory, devices
/// unavailable) while NVML says jobs hold it (compute processes, or an exclusive or prohibited compute mode) is busy,
/// not broken: it warns "not tested" instead of failing the stage.
/// </summary>
internal sealed class CudaCheck : IValidationCheck
{
    /// <summary>How many failing GPUs the detail names before it says "and N more" (one line, however many GPUs).</summary>
    private const int MaxNamedFailures = 3;

    private const string GpuRemedy =
        "check the GPU with nvidia-smi and dmesg (Xid errors) on the node; a GPU that computes wrong results or keeps failing needs a reset, a reboot or a repair";

    private const string BusyRemedy =
        "jobs hold these GPUs (validate runs while pods may use them); the CUDA driver started, and a busy GPU is tested by the next validate that finds it free";

    public string Name => CheckNames.Cuda;

    public ValidationStage Stage => ValidationStage.Cuda;

    public CheckOutcome Run(ValidationContext context)
    {
        var cuda = context.Target.OpenCuda();
        context.Cuda = cuda;
        if (context.Options.MinCudaVersion is { } minimum && DriverVersion.FromCudaNumber(cuda.Version).IsBelow(minimum))
        {
            return CheckOutcome.Fail(
                $"the driver supports CUDA {cuda.VersionText}, older than --min-cuda-version {minimum}",
                "upgrade the driver on the node to one that supports that CUDA version, or lower --min-cuda-version");
        }

        if (cuda.Gpus.Count == 0)
        {
            return CheckOutcome.Fail("the CUDA driver sees no GPU", "check that the container has the NVIDIA device nodes (runtimeClassName: nvidia) and that CUDA_VISIBLE_DEVICES is not empty");
        }

        var n = context.Options.KernelElements;
        var a = new uint[n];
        var b = new uint[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = (uint)i;
            b[i] = unchecked((uint)i * 2654435761u);
        }

        var sums = new uint[n];
        var failures = new List<string>();
        var busy = new List<string>();
        var times = new List<TimeSpan>();
        foreach (var gpu in cuda.Gpus)
        {
            Array.Clear(sums);
            var started = context.TimeProvider.GetTimestamp();
            try
            {
                context.Target.RunVectorAdd(gpu, a, b, sums);
            }
            catch (Targets.ValidationStepException ex)
            {
                if (ex.MayMeanBusy && BusyReason(context, gpu) is { } reason)
                {
                    busy.Add(string.Create(CultureInfo.InvariantCulture, $"GPU {gpu.Ordinal} ({gpu.Uuid}): busy: {reason}, not tested"));
                }
                else
                {
                    failures.Add(ex.Message);
                }

                continue;
            }

            times.Add(context.TimeProvider.GetElapsedTime(started));
            var wrong = 0;
            var first = -1;
            for (var i = 0; i < n; i++)
            {
                if (sums[i] != unchecked(a[i] + b[i]))
                {
                    wrong++;
                    first = first < 0 ? i : first;
                }
            }

            if (wrong > 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture,
                    $"GPU {gpu.Ordinal} ({gpu.Uuid}): the vector add returned {wrong} wrong sums of {n} (first at index {first}: {sums[first]} instead of {unchecked(a[first] + b[first])})"));
            }
        }

        if (failures.Count > 0)
        {
            var more = failures.Count > MaxNamedFailures ? string.Create(CultureInfo.InvariantCulture, $"; and {failures.Count - MaxNamedFailures} more GPUs") : string.Empty;
            return CheckOutcome.Fail(string.Join("; ", failures.Take(MaxNamedFailures)) + more, GpuRemedy);
        }

        var tested = times.Count == 0
            ? $"CUDA {cuda.VersionText} started; no GPU was free to test"
            : string.Create(CultureInfo.InvariantCulture,
                $"CUDA {cuda.VersionText}: vector add of {ByteSizes.Format((long)n * sizeof(uint))} checked on {times.Count} GPUs in {times.Min().TotalMilliseconds:0.#}-{times.Max().TotalMilliseconds:0.#} ms each, libcuda from {cuda.LibraryPath}");
        if (busy.Count > 0)
        {
            var more = busy.Count > MaxNamedFailures ? string.Create(CultureInfo.InvariantCulture, $"; and {busy.Count - MaxNamedFailures} more busy GPUs") : string.Empty;
            return new CheckOutcome(CheckResult.Warn, $"{tested}; {string.Join("; ", busy.Take(MaxNamedFailures))}{more}", BusyRemedy);
        }

        return CheckOutcome.Ok(tested);
    }

    /// <summary>Why a GPU whose context or memory was refused is held by jobs; null when NVML says it is not, so the failure stands.</summary>
    private static string? BusyReason(ValidationContext context, Targets.CudaGpu gpu)
    {
        var managed = context.Management?.Gpus.FirstOrDefault(g => string.Equals(g.Uuid, gpu.Uuid, StringComparison.OrdinalIgnoreCase));
        if (managed is null)
        {
            return null;
        }

        var use = context.Target.ReadComputeUse(managed);
        return use.IsBusy ? use.Describe() : null;
    }
}
