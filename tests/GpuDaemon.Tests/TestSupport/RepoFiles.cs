namespace GpuDaemon.Tests.TestSupport;

/// <summary>Files of the repository itself (docs, manifests, examples), found from the test binary upwards.</summary>
public static class RepoFiles
{
    public static string Root { get; } = FindRoot();

    public static string Path(string relative) => System.IO.Path.Combine(Root, relative);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "GpuDaemon.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (GpuDaemon.sln) above " + AppContext.BaseDirectory);
    }
}
