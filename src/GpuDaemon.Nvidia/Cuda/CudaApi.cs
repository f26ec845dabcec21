using System.Globalization;
using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>What one CUDA driver call answered, and which call it was.</summary>
internal readonly record struct CudaStatus(CudaResult Code, string Function)
{
    public bool IsSuccess => Code == CudaResult.Success;
}

/// <summary>
/// The CUDA driver entry points GpuDaemon uses, called through unmanaged function pointers looked up in
/// the library the resolver loaded (see NvmlApi for why). Names are the exported, versioned
/// ones (<c>cuMemAlloc_v2</c> and so on), which is what a program compiled against the header links to.
/// A missing entry point answers <see cref="CudaResult.NotFound"/>.
/// </summary>
internal sealed unsafe class CudaApi
{
    private const int ComputeCapabilityMajorAttribute = 75;
    private const int ComputeCapabilityMinorAttribute = 76;
    private const int NameCapacity = 256;

    private readonly LoadedLibrary _library;

    public CudaApi(LoadedLibrary library)
    {
        _library = library;
    }

    public string LibraryPath => _library.Path;

    public void Check(CudaStatus status)
    {
        if (!status.IsSuccess)
        {
            throw Error(status);
        }
    }

    public CudaException Error(CudaStatus status) =>
        new(status.Function, status.Code, ErrorName(status.Code), ErrorString(status.Code));

    public CudaStatus Init()
    {
        const string name = "cuInit";
        var fn = (delegate* unmanaged<uint, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(0), name);
    }

    public CudaStatus DriverGetVersion(out int version)
    {
        fixed (int* value = &version)
        {
            return Invoke("cuDriverGetVersion", value);
        }
    }

    public CudaStatus DeviceGetCount(out int count)
    {
        fixed (int* value = &count)
        {
            return Invoke("cuDeviceGetCount", value);
        }
    }

    public CudaStatus DeviceGet(int ordinal, out int device)
    {
        fixed (int* value = &device)
        {
            return Invoke("cuDeviceGet", value, ordinal);
        }
    }

    public CudaStatus DeviceGetName(int device, out string text)
    {
        const string name = "cuDeviceGetName";
        text = string.Empty;
        var fn = (delegate* unmanaged<byte*, int, int, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        var buffer = stackalloc byte[NameCapacity];
        var status = new CudaStatus(fn(buffer, NameCapacity, device), name);
        if (status.IsSuccess)
        {
            text = NativeText.Decode(buffer, NameCapacity);
        }

        return status;
    }

    /// <summary>The GPU's 16-byte UUID, from the _v2 entry point where the driver has it.</summary>
    public CudaStatus DeviceGetUuid(int device, Span<byte> uuid)
    {
        fixed (byte* value = uuid)
        {
            var name = _library.Export("cuDeviceGetUuid_v2") != 0 ? "cuDeviceGetUuid_v2" : "cuDeviceGetUuid";
            return Invoke(name, value, device);
        }
    }

    public CudaStatus DeviceTotalMem(int device, out ulong bytes)
    {
        fixed (ulong* value = &bytes)
        {
            return Invoke("cuDeviceTotalMem_v2", value, device);
        }
    }

    public CudaStatus DeviceComputeCapability(int device, out int major, out int minor)
    {
        minor = 0;
        var first = DeviceGetAttribute(ComputeCapabilityMajorAttribute, device, out major);
        return first.IsSuccess ? DeviceGetAttribute(ComputeCapabilityMinorAttribute, device, out minor) : first;
    }

    public CudaStatus CtxCreate(int device, out nint context)
    {
        const string name = "cuCtxCreate_v2";
        context = 0;
        var fn = (delegate* unmanaged<nint*, uint, int, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (nint* value = &context)
        {
            return new(fn(value, 0, device), name);
        }
    }

    public CudaStatus CtxDestroy(nint context) => Invoke("cuCtxDestroy_v2", context);

    public CudaStatus CtxSetCurrent(nint context) => Invoke("cuCtxSetCurrent", context);

    public CudaStatus CtxSynchronize()
    {
        const string name = "cuCtxSynchronize";
        var fn = (delegate* unmanaged<CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(), name);
    }

    /// <summary>Loads a module from NUL-terminated PTX text; the driver compiles it for the GPU.</summary>
    public CudaStatus ModuleLoadData(ReadOnlySpan<byte> image, out nint module)
    {
        fixed (byte* data = image)
        fixed (nint* value = &module)
        {
            return Invoke("cuModuleLoadData", value, data);
        }
    }

    public CudaStatus ModuleUnload(nint module) => Invoke("cuModuleUnload", module);

    /// <summary>A kernel by its NUL-terminated name.</summary>
    public CudaStatus ModuleGetFunction(nint module, ReadOnlySpan<byte> kernel, out nint function)
    {
        const string name = "cuModuleGetFunction";
        function = 0;
        var fn = (delegate* unmanaged<nint*, nint, byte*, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (byte* text = kernel)
        fixed (nint* value = &function)
        {
            return new(fn(value, module, text), name);
        }
    }

    public CudaStatus MemAlloc(ulong bytes, out ulong pointer)
    {
        const string name = "cuMemAlloc_v2";
        pointer = 0;
        var fn = (delegate* unmanaged<ulong*, nuint, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (ulong* value = &pointer)
        {
            return new(fn(value, (nuint)bytes), name);
        }
    }

    public CudaStatus MemFree(ulong pointer)
    {
        const string name = "cuMemFree_v2";
        var fn = (delegate* unmanaged<ulong, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(pointer), name);
    }

    public CudaStatus MemcpyHtoD(ulong destination, ReadOnlySpan<byte> source)
    {
        const string name = "cuMemcpyHtoD_v2";
        var fn = (delegate* unmanaged<ulong, byte*, nuint, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (byte* data = source)
        {
            return new(fn(destination, data, (nuint)source.Length), name);
        }
    }

    public CudaStatus MemcpyDtoH(Span<byte> destination, ulong source)
    {
        const string name = "cuMemcpyDtoH_v2";
        var fn = (delegate* unmanaged<byte*, ulong, nuint, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (byte* data = destination)
        {
            return new(fn(data, source, (nuint)destination.Length), name);
        }
    }

    /// <summary>Launches on the default stream; <paramref name="parameters"/> points at one pointer per kernel argument.</summary>
    public CudaStatus LaunchKernel(nint function, CudaDim3 grid, CudaDim3 block, uint sharedMemoryBytes, void** parameters)
    {
        const string name = "cuLaunchKernel";
        var fn = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, CudaResult>)_library.Export(name);
        return fn == null
            ? Missing(name)
            : new(fn(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedMemoryBytes, 0, parameters, null), name);
    }

    public string ErrorName(CudaResult code) =>
        Describe("cuGetErrorName", code) ?? string.Create(CultureInfo.InvariantCulture, $"CUresult {(int)code}");

    public string ErrorString(CudaResult code) => Describe("cuGetErrorString", code) ?? "no description from the driver";

    private static CudaStatus Missing(string name) => new(CudaResult.NotFound, name);

    private CudaStatus DeviceGetAttribute(int attribute, int device, out int value)
    {
        const string name = "cuDeviceGetAttribute";
        value = 0;
        var fn = (delegate* unmanaged<int*, int, int, CudaResult>)_library.Export(name);
        if (fn == null)
        {
            return Missing(name);
        }

        fixed (int* result = &value)
        {
            return new(fn(result, attribute, device), name);
        }
    }

    private CudaStatus Invoke(string name, nint handle)
    {
        var fn = (delegate* unmanaged<nint, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(handle), name);
    }

    private CudaStatus Invoke(string name, void* result)
    {
        var fn = (delegate* unmanaged<void*, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(result), name);
    }

    private CudaStatus Invoke(string name, void* result, int argument)
    {
        var fn = (delegate* unmanaged<void*, int, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(result, argument), name);
    }

    private CudaStatus Invoke(string name, void* result, void* argument)
    {
        var fn = (delegate* unmanaged<void*, void*, CudaResult>)_library.Export(name);
        return fn == null ? Missing(name) : new(fn(result, argument), name);
    }

    private string? Describe(string function, CudaResult code)
    {
        var fn = (delegate* unmanaged<CudaResult, byte**, CudaResult>)_library.Export(function);
        if (fn == null)
        {
            return null;
        }

        byte* text = null;
        return fn(code, &text) == CudaResult.Success && text != null ? NativeText.FromNullTerminated(text) : null;
    }
}
