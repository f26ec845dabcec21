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

    /// <summary>How many file descriptors <paramref name="pid"/> has open; -1 once the process is gone.</summary>
    public static int OpenFileDescriptors(int pid)
    {
        try
        {
            return Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
