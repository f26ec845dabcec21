using System.Runtime.InteropServices;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>Device memory; dispose to free it.</summary>
internal sealed class CudaDeviceBuffer : IDisposable
{
    private readonly CudaApi _api;
    private readonly CudaContext _context;
    private ulong _pointer;

    internal CudaDeviceBuffer(CudaApi api, CudaContext context, ulong pointer, long length)
    {
        _api = api;
        _context = context;
        _pointer = pointer;
        Length = length;
    }

    /// <summary>The device address, as a kernel argument takes it.</summary>
    public ulong DevicePointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == 0, this);
            return _pointer;
        }
    }

    public long Length { get; }

    public void CopyFrom<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(source);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes.Length, Length, nameof(source));
        _context.MakeCurrent();
        _api.Check(_api.MemcpyHtoD(DevicePointer, bytes));
    }

    public void CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(destination);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes.Length, Length, nameof(destination));
        _context.MakeCurrent();
        _api.Check(_api.MemcpyDtoH(bytes, DevicePointer));
    }

    public void Dispose()
    {
        if (_pointer == 0)
        {
            return;
        }

        var pointer = _pointer;
        _pointer = 0;
        _context.MakeCurrent();
        _api.Check(_api.MemFree(pointer));
    }
}
