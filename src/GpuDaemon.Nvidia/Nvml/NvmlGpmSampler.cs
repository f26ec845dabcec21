namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// GPU Performance Monitoring needs two samples: each read takes a new sample of the GPU and computes the
/// activity since the one kept from the previous read, which it then frees. So the first read of a GPU has no
/// values, and each value is the average since the previous read (the scrape interval). GPUs without GPM
/// (asked once per GPU) have none. One sample per GPU is held between reads; all are freed on dispose.
/// </summary>
internal sealed class NvmlGpmSampler(NvmlApi api) : IDisposable
{
    private static readonly uint[] Metrics = [NvmlApi.GpmMetricGraphicsUtil, NvmlApi.GpmMetricAnyTensorUtil, NvmlApi.GpmMetricDramBandwidthUtil];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, GpuState> _gpus = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Ratios 0–1 of graphics engine, tensor and DRAM activity since the last read; nulls when unknown.</summary>
    public (double? Graphics, double? Tensor, double? Dram) Read(string uuid, nint device)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return default;
            }

            if (!_gpus.TryGetValue(uuid, out var state))
            {
                var support = api.GpmQueryDeviceSupport(device, out var supported);
                if (support.IsLost)
                {
                    throw api.Error(support);
                }

                _gpus[uuid] = state = new GpuState(supported);
            }

            if (!state.Supported || !api.GpmSampleAlloc(out var sample).IsSuccess)
            {
                return default;
            }

            var taken = api.GpmSampleGet(device, sample);
            if (!taken.IsSuccess)
            {
                api.GpmSampleFree(sample);
                Forget(state);
                if (taken.IsLost)
                {
                    throw api.Error(taken);
                }

                return default;
            }

            var previous = state.Previous;
            state.Previous = sample;
            if (previous == 0)
            {
                return default;
            }

            Span<double?> values = stackalloc double?[Metrics.Length];
            api.GpmMetricsGet(previous, sample, Metrics, values);
            api.GpmSampleFree(previous);
            return (Ratio(values[0]), Ratio(values[1]), Ratio(values[2]));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var state in _gpus.Values)
            {
                Forget(state);
            }
        }
    }

    private void Forget(GpuState state)
    {
        if (state.Previous != 0)
        {
            api.GpmSampleFree(state.Previous);
            state.Previous = 0;
        }
    }

    /// <summary>GPM answers percentages; dcgm-exporter's fields are ratios.</summary>
    private static double? Ratio(double? percent) => percent is { } p ? Math.Round(Math.Clamp(p, 0, 100) / 100, 6) : null;

    private sealed class GpuState(bool supported)
    {
        public bool Supported { get; } = supported;

        public nint Previous { get; set; }
    }
}
