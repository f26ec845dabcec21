using System.Runtime.InteropServices;

namespace GpuDaemon.Nvidia.Loading;

/// <summary>
/// A native library the resolver loaded, and where from. It stays loaded for the life of the process:
/// native calls may still be in flight on other threads when its user is disposed, and the driver's
/// libraries are meant to be loaded once.
/// </summary>
internal sealed class LoadedLibrary
{
    private readonly nint _handle;

    internal LoadedLibrary(NvidiaLibrary library, string path, nint handle)
    {
        Library = library;
        Path = path;
        _handle = handle;
    }

    public NvidiaLibrary Library { get; }

    /// <summary>The path it was loaded from, or its bare file name when the loader's own search found it.</summary>
    public string Path { get; }

    /// <summary>The address of an exported function, or zero when this build of the library lacks it.</summary>
    internal nint Export(string name) => NativeLibrary.TryGetExport(_handle, name, out var address) ? address : 0;
}
