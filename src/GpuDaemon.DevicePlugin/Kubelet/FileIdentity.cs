namespace GpuDaemon.DevicePlugin.Kubelet;

/// <summary>Tells a file from a new one at the same path: a recreated socket has new timestamps.</summary>
internal readonly record struct FileIdentity(DateTime Created, DateTime Modified)
{
    public static FileIdentity? Of(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists ? new FileIdentity(info.CreationTimeUtc, info.LastWriteTimeUtc) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
