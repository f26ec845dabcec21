using System.Text;

namespace GpuDaemon.Nvidia.Cuda;

/// <summary>A loaded module; dispose to unload it.</summary>
internal sealed class CudaModule : IDisposable
{
    private readonly CudaApi _api;
    private readonly CudaContext _context;
    private nint _module;

    internal CudaModule(CudaApi api, CudaContext context, nint module)
    {
        _api = api;
        _context = context;
        _module = module;
    }

    /// <summary>A kernel in the module by its entry name.</summary>
    public CudaFunction GetFunction(string name)
    {
        ObjectDisposedException.ThrowIf(_module == 0, this);
        _context.MakeCurrent();
        _api.Check(_api.ModuleGetFunction(_module, Encoding.UTF8.GetBytes(name + "\0"), out var function));
        return new CudaFunction(name, function);
    }

    public void Dispose()
    {
        if (_module == 0)
        {
            return;
        }

        var module = _module;
        _module = 0;
        _context.MakeCurrent();
        _api.Check(_api.ModuleUnload(module));
    }
}

/// <summary>A kernel handle; valid while its module is loaded.</summary>
internal readonly record struct CudaFunction(string Name, nint Handle);
