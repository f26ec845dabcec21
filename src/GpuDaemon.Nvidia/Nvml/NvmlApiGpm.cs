namespace GpuDaemon.Nvidia.Nvml;

/// <summary>
/// NVML's field values (memory temperature), the row-remap failure flag and GPU Performance Monitoring
/// (Hopper and later): samples taken at two moments give engine, tensor and DRAM activity between them.
/// Layouts follow nvml.h: <c>nvmlFieldValue_t</c> is 40 bytes, <c>nvmlGpmMetric_t</c> 40 bytes,
/// <c>nvmlGpmMetricsGet_t</c> a 24-byte head then <see cref="GpmMetricMax"/> metrics.
/// </summary>
internal sealed unsafe partial class NvmlApi
{
    /// <summary><c>NVML_FI_DEV_MEMORY_TEMP</c>.</summary>
    public const uint FieldMemoryTemperature = 82;

    public const uint GpmMetricGraphicsUtil = 1;
    public const uint GpmMetricAnyTensorUtil = 5;
    public const uint GpmMetricDramBandwidthUtil = 10;

    private const int GpmMetricMax = 98;
    private const uint GpmMetricsGetVersion = 1;
    private const uint GpmSupportVersion = 1;
    private const int GpmMetricBytes = 40;
    private const int GpmMetricsHeadBytes = 24;

    /// <summary>The row counts and whether a remapping failed (<c>failureOccurred</c>).</summary>
    public NvmlStatus DeviceGetRemappedRows(nint device, out uint correctable, out uint uncorrectable, out bool failed)
    {
        const string name = "nvmlDeviceGetRemappedRows";
        correctable = uncorrectable = 0;
        failed = false;
        var fn = (delegate* unmanaged<nint, uint*, uint*, uint*, uint*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        uint pending, failure;
        NvmlReturn code;
        fixed (uint* corr = &correctable, unc = &uncorrectable)
        {
            code = fn(device, corr, unc, &pending, &failure);
        }

        failed = failure != 0;
        return new(code, name);
    }

    /// <summary>One field of <c>nvmlDeviceGetFieldValues</c> as an unsigned value; the field's own status when the call answered.</summary>
    public NvmlStatus DeviceGetFieldValue(nint device, uint fieldId, out ulong value)
    {
        const string name = "nvmlDeviceGetFieldValues";
        value = 0;
        var fn = (delegate* unmanaged<nint, int, NvmlFieldValue*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        var field = new NvmlFieldValue { FieldId = fieldId };
        var code = fn(device, 1, &field);
        if (code != NvmlReturn.Success)
        {
            return new(code, name);
        }

        value = field.ValueType switch
        {
            0 => (ulong)Math.Max(0, BitConverter.Int64BitsToDouble(field.Value)),
            1 => (uint)field.Value,
            _ => (ulong)field.Value,
        };
        return new(field.Return, name);
    }

    public NvmlStatus GpmQueryDeviceSupport(nint device, out bool supported)
    {
        var support = stackalloc uint[2];
        support[0] = GpmSupportVersion;
        support[1] = 0;
        var status = Invoke("nvmlGpmQueryDeviceSupport", device, support);
        supported = status.IsSuccess && support[1] != 0;
        return status;
    }

    public NvmlStatus GpmSampleAlloc(out nint sample)
    {
        fixed (nint* value = &sample)
        {
            return Invoke("nvmlGpmSampleAlloc", value);
        }
    }

    public NvmlStatus GpmSampleFree(nint sample)
    {
        const string name = "nvmlGpmSampleFree";
        var fn = (delegate* unmanaged<nint, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(sample), name);
    }

    public NvmlStatus GpmSampleGet(nint device, nint sample)
    {
        const string name = "nvmlGpmSampleGet";
        var fn = (delegate* unmanaged<nint, nint, NvmlReturn>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(device, sample), name);
    }

    /// <summary>The metrics <paramref name="ids"/> between two samples of one GPU; a metric the GPU lacks is null.</summary>
    public NvmlStatus GpmMetricsGet(nint first, nint second, ReadOnlySpan<uint> ids, Span<double?> values)
    {
        const string name = "nvmlGpmMetricsGet";
        var fn = (delegate* unmanaged<byte*, NvmlReturn>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        const int size = GpmMetricsHeadBytes + (GpmMetricMax * GpmMetricBytes);
        var buffer = stackalloc byte[size];
        new Span<byte>(buffer, size).Clear();
        *(uint*)buffer = GpmMetricsGetVersion;
        *(uint*)(buffer + 4) = (uint)ids.Length;
        *(nint*)(buffer + 8) = first;
        *(nint*)(buffer + 16) = second;
        for (var i = 0; i < ids.Length; i++)
        {
            *(uint*)(buffer + GpmMetricsHeadBytes + (i * GpmMetricBytes)) = ids[i];
        }

        var status = new NvmlStatus(fn(buffer), name);
        for (var i = 0; i < ids.Length; i++)
        {
            var metric = buffer + GpmMetricsHeadBytes + (i * GpmMetricBytes);
            values[i] = status.IsSuccess && *(NvmlReturn*)(metric + 4) == NvmlReturn.Success ? *(double*)(metric + 8) : null;
        }

        return status;
    }
}

/// <summary><c>nvmlFieldValue_t</c>: the value is read through its 8-byte union as raw bits.</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct NvmlFieldValue
{
    public uint FieldId;
    public uint ScopeId;
    public long Timestamp;
    public long LatencyMicroseconds;
    public int ValueType;
    public NvmlReturn Return;
    public long Value;
}
