namespace GpuDaemon.DevicePlugin.Kubelet;

/// <summary>
/// Tells a socket file from a new one at the same path by its modification time, which is set when the
/// socket is bound and never changes after. (Not the change or birth time: a chmod right after bind moves
/// the change time, and some filesystems report it as the birth time.) A directory or a non-empty file is a
/// different identity too, whatever its time: a socket is never either.
/// </summary>
internal readonly record struct FileIdentity(DateTime Modified, bool IsDirectory = false, long Length = 0)
{
    public static FileIdentity? Of(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Exists)
            {
                return new FileIdentity(info.LastWriteTimeUtc, Length: info.Length);
            }

            var directory = new DirectoryInfo(path);
            return directory.Exists ? new FileIdentity(directory.LastWriteTimeUtc, IsDirectory: true) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>What is at the path, in words for a log line.</summary>
    public string Describe() => IsDirectory ? "a directory" : Length > 0 ? "a regular file" : "a different file";
}
