using System.Runtime.InteropServices;
using GpuDaemon.Devices;

namespace GpuDaemon.Nvidia.Loading;

/// <summary>
/// Finds and loads the driver's libraries (NVML and the CUDA driver) the same way for both: the usual
/// library folders under the driver root first, then, for the host's own root, the GPU operator's
/// driver folder and the ordinary loader search. A library that cannot be loaded is reported as one
/// line naming the file, every place searched, and the usual remedies.
/// </summary>
internal sealed class NativeLibraryResolver
{
    /// <summary>Where NVIDIA's GPU operator puts a containerised driver on the host.</summary>
    public const string OperatorDriverRoot = "/run/nvidia/driver";

    private readonly IHostFileSystem _fileSystem;

    public NativeLibraryResolver(IHostFileSystem fileSystem)
    {
        _fileSystem = fileSystem;
    }

    /// <summary>The folders searched, in order, for a driver installed under <paramref name="driverRoot"/>.</summary>
    public static IReadOnlyList<string> CandidateFolders(string driverRoot)
    {
        var roots = IsHostRoot(driverRoot) ? ["/", OperatorDriverRoot] : new[] { driverRoot };
        var folders = new List<string>();
        foreach (var root in roots)
        {
            foreach (var relative in LibraryFolders())
            {
                var folder = Path.Combine(root, relative);
                if (!folders.Contains(folder, StringComparer.Ordinal))
                {
                    folders.Add(folder);
                }
            }
        }

        return folders;
    }

    /// <summary>
    /// Whether the loader's own search (ld.so.cache, LD_LIBRARY_PATH) is tried last. Only for the host's
    /// root: a named driver root means that driver, not whatever library the image happens to carry.
    /// </summary>
    public static bool SearchesLoaderPath(string driverRoot) => IsHostRoot(driverRoot);

    /// <summary>Loads <paramref name="library"/> for the driver under <paramref name="driverRoot"/>, or throws a <see cref="DeviceBackendException"/> saying why not.</summary>
    public LoadedLibrary Load(NvidiaLibrary library, string driverRoot)
    {
        var folders = CandidateFolders(driverRoot);
        string? firstRefusal = null;
        foreach (var folder in folders)
        {
            var path = Path.Combine(folder, library.FileName);
            if (!_fileSystem.FileExists(path))
            {
                continue;
            }

            if (TryLoad(path, out var handle, out var reason))
            {
                return new LoadedLibrary(library, path, handle);
            }

            firstRefusal ??= $"cannot load {library.Title} from {path}: {reason}. The file is there but the loader refused it: "
                + $"check that it is the {RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()} build of the driver and that the driver's other libraries sit beside it";
        }

        if (firstRefusal is not null)
        {
            throw new DeviceBackendException(firstRefusal);
        }

        if (SearchesLoaderPath(driverRoot) && TryLoad(library.FileName, out var found, out _))
        {
            return new LoadedLibrary(library, library.FileName, found);
        }

        throw new DeviceBackendException(NotFoundMessage(library, driverRoot, folders));
    }

    private static string NotFoundMessage(NvidiaLibrary library, string driverRoot, IReadOnlyList<string> folders)
    {
        var where = string.Join(", ", folders) + (SearchesLoaderPath(driverRoot) ? " or on the loader path" : string.Empty);
        return $"cannot load {library.Title}: {library.FileName} is not in {where}. "
            + "Is the NVIDIA driver installed on this node? In a pod, run with runtimeClassName: nvidia, "
            + $"or mount the driver's root (e.g. {OperatorDriverRoot}) and pass it as --driver-root; without GPUs, use --simulate N";
    }

    private static bool TryLoad(string path, out nint handle, out string reason)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            reason = string.Empty;
            return true;
        }
        catch (DllNotFoundException ex)
        {
            handle = 0;
            reason = ex.Message.ReplaceLineEndings(" ").TrimEnd('.', ' ');
            return false;
        }
        catch (BadImageFormatException ex)
        {
            handle = 0;
            reason = ex.Message.ReplaceLineEndings(" ").TrimEnd('.', ' ');
            return false;
        }
    }

    private static bool IsHostRoot(string driverRoot) =>
        string.IsNullOrEmpty(driverRoot) || driverRoot.Trim('/').Length == 0;

    private static IEnumerable<string> LibraryFolders()
    {
        var triplet = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.Arm64 => "aarch64-linux-gnu",
            _ => "x86_64-linux-gnu",
        };
        yield return $"usr/lib/{triplet}";
        yield return "usr/lib64";
        yield return "usr/lib";
        yield return $"lib/{triplet}";
        yield return "lib64";
    }
}
