namespace GpuDaemon.DevicePlugin.Kubelet;

/// <summary>
/// Tells a socket file from a new one at the same path by its modification time, which is set when the
/// socket is bound and never changes after. (Not the change or birth time: a chmod right after bind moves
/// the change time, and some filesystems report it as the birth time.)
/// </summary>
internal readonly record struct FileIdentity(DateTime Modified)
{
    public static FileIdentity? Of(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileIdentity(info.LastWriteTimeUtc) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
