using System.Globalization;

namespace GpuDaemon.Tests.TestSupport;

/// <summary>What a child process holds, read from /proc: resident memory and open file descriptors.</summary>
public static class ProcessMemory
{
    /// <summary>
    /// The resident memory serve may use (200 MB): it settles near 60-90 MB on simulated GPUs; reading a 100 MB
    /// file whole (the defect this guards) took it past 1 GB, and a leak over a soak would climb past this.
    /// </summary>
    public const long MaxResidentBytes = 200L * 1024 * 1024;

    /// <summary>VmRSS of <paramref name="pid"/> in bytes; 0 once the process is gone.</summary>
    public static long ResidentBytes(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>
    /// How many file descriptors <paramref name="pid"/> has open, not counting loaded assemblies, their symbols
    /// and native libraries (the runtime maps each once, as code first needs it, and never closes it); -1 once it is gone.
    /// </summary>
    public static int OpenFileDescriptors(int pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Count(fd => !IsLoadedCode(new FileInfo(fd).LinkTarget));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private static bool IsLoadedCode(string? target) =>
        target is not null && (target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".pdb", StringComparison.Ordinal) || target.Contains(".so", StringComparison.Ordinal));

    /// <summary>The kinds of <paramref name="pid"/>'s open descriptors (socket, pipe, anon_inode:…, a path, loaded code), counted.</summary>
    public static string DescribeFileDescriptors(int pid)
    {
        var kinds = new SortedDictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget ?? "?";
                var kind = IsLoadedCode(target) ? "loaded code"
                    : target.StartsWith('/') ? target
                    : target.StartsWith("socket:", StringComparison.Ordinal) || target.StartsWith("pipe:", StringComparison.Ordinal) ? target[..target.IndexOf(':', StringComparison.Ordinal)]
                    : target;
                kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return string.Join(", ", kinds.Select(k => $"{k.Key} {k.Value}"));
    }
}
