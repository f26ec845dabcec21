using System.Globalization;
using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>
/// The CUDA driver API, loaded through the same resolver as NVML: enough to find the GPUs, make a
/// context, load PTX, move memory and run a kernel. Failures are <see cref="CudaException"/>s naming the call.
/// </summary>
internal sealed class CudaDriver
{
    private readonly CudaApi _api;

    private CudaDriver(CudaApi api)
    {
        _api = api;
    }

    public string LibraryPath => _api.LibraryPath;

    /// <summary>Loads <c>libcuda.so.1</c> for the driver under <paramref name="driverRoot"/>; a missing library throws a one-line <see cref="Devices.DeviceBackendException"/>.</summary>
    public static CudaDriver Load(string driverRoot, IHostFileSystem? fileSystem = null)
    {
        var library = new NativeLibraryResolver(fileSystem ?? PhysicalHostFileSystem.Instance).Load(NvidiaLibrary.Cuda, driverRoot);
        return new CudaDriver(new CudaApi(library));
    }

    /// <summary>12040 → "12.4".</summary>
    public static string FormatVersion(int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}");

    /// <summary><c>cuInit</c>: must come before anything else but <see cref="DriverVersion"/>.</summary>
    public void Initialize() => _api.Check(_api.Init());

    /// <summary>The newest CUDA version the driver supports, e.g. 12040.</summary>
    public int DriverVersion()
    {
        var status = _api.DriverGetVersion(out var version);
        _api.Check(status);
        return version;
    }

    public int DeviceCount()
    {
        var status = _api.DeviceGetCount(out var count);
        _api.Check(status);
        return count;
    }

    public CudaDeviceInfo GetDevice(int ordinal)
    {
        _api.Check(_api.DeviceGet(ordinal, out var device));
        _api.Check(_api.DeviceGetName(device, out var name));
        Span<byte> uuid = stackalloc byte[16];
        _api.Check(_api.DeviceGetUuid(device, uuid));
        _api.Check(_api.DeviceTotalMem(device, out var bytes));
        _api.Check(_api.DeviceComputeCapability(device, out var major, out var minor));
        return new CudaDeviceInfo(ordinal, name, FormatUuid(uuid), bytes, major, minor);
    }

    /// <summary>Creates a context on the GPU, current on the calling thread; dispose it to destroy it.</summary>
    public CudaContext CreateContext(CudaDeviceInfo device)
    {
        _api.Check(_api.DeviceGet(device.Ordinal, out var handle));
        _api.Check(_api.CtxCreate(handle, out var context));
        return new CudaContext(_api, context);
    }

    /// <summary>The driver's description of a code (<c>cuGetErrorString</c>).</summary>
    public string ErrorString(CudaResult code) => _api.ErrorString(code);

    /// <summary>The driver's name for a code (<c>cuGetErrorName</c>), e.g. <c>CUDA_ERROR_NO_DEVICE</c>.</summary>
    public string ErrorName(CudaResult code) => _api.ErrorName(code);

    /// <summary>16 bytes as NVML writes a GPU UUID: <c>GPU-</c> and 8-4-4-4-12 hex digits.</summary>
    internal static string FormatUuid(ReadOnlySpan<byte> bytes)
    {
        var hex = Convert.ToHexStringLower(bytes);
        return $"GPU-{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }
}
