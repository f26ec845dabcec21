using System.Text;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>
/// A CUDA context on one GPU. Every operation first makes it current on the calling thread, so it may
/// be used from any thread (one at a time). Disposing destroys it, and with it its modules and memory.
/// </summary>
internal sealed class CudaContext : IDisposable
{
    private readonly CudaApi _api;
    private nint _context;

    internal CudaContext(CudaApi api, nint context)
    {
        _api = api;
        _context = context;
    }

    /// <summary>Loads PTX text (the driver compiles it for this GPU).</summary>
    public CudaModule LoadModule(string ptx)
    {
        MakeCurrent();
        var image = Encoding.UTF8.GetBytes(ptx + "\0");
        _api.Check(_api.ModuleLoadData(image, out var module));
        return new CudaModule(_api, this, module);
    }

    public CudaDeviceBuffer Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        MakeCurrent();
        _api.Check(_api.MemAlloc((ulong)bytes, out var pointer));
        return new CudaDeviceBuffer(_api, this, pointer, bytes);
    }

    /// <summary>Queues a kernel on the default stream; <see cref="Synchronize"/> waits for it and reports its failure.</summary>
    public unsafe void Launch(CudaFunction function, CudaDim3 grid, CudaDim3 block, CudaKernelArguments arguments, uint sharedMemoryBytes = 0)
    {
        MakeCurrent();
        var slots = arguments.Slots;
        var pointers = new nint[slots.Length];
        fixed (ulong* values = slots)
        fixed (nint* parameters = pointers)
        {
            for (var i = 0; i < slots.Length; i++)
            {
                parameters[i] = (nint)(values + i);
            }

            _api.Check(_api.LaunchKernel(function.Handle, grid, block, sharedMemoryBytes, (void**)parameters));
        }
    }

    /// <summary>Waits until everything queued on this context has finished.</summary>
    public void Synchronize()
    {
        MakeCurrent();
        _api.Check(_api.CtxSynchronize());
    }

    public void Dispose()
    {
        if (_context == 0)
        {
            return;
        }

        var context = _context;
        _context = 0;
        _api.Check(_api.CtxDestroy(context));
    }

    internal void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_context == 0, this);
        _api.Check(_api.CtxSetCurrent(_context));
    }
}
