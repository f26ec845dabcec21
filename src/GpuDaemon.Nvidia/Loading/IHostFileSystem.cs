namespace GpuDaemon.Nvidia.Loading;

/// <summary>
/// The few host files the NVIDIA backends look at (library candidates, sysfs attributes), behind a
/// seam so tests can answer from a fake or a temp tree.
/// </summary>
public interface IHostFileSystem
{
    bool FileExists(string path);

    /// <summary>The file's text, or null when it is missing or unreadable.</summary>
    string? ReadAllTextOrNull(string path);
}

/// <summary>The real file system.</summary>
internal sealed class PhysicalHostFileSystem : IHostFileSystem
{
    public static readonly PhysicalHostFileSystem Instance = new();

    private PhysicalHostFileSystem()
    {
    }

    public bool FileExists(string path) => File.Exists(path);

    public string? ReadAllTextOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
