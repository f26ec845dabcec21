using GpuDaemon.Nvidia.Loading;

namespace GpuDaemon.Tests.Nvidia.Loading;

/// <summary>Host files from a dictionary; records every path asked about.</summary>
public sealed class FakeHostFileSystem(Dictionary<string, string>? files = null) : IHostFileSystem
{
    private readonly Dictionary<string, string> _files = files ?? [];

    public List<string> Probed { get; } = [];

    public bool FileExists(string path)
    {
        lock (Probed)
        {
            Probed.Add(path);
        }

        return _files.ContainsKey(path);
    }

    public string? ReadAllTextOrNull(string path) => _files.GetValueOrDefault(path);
}
