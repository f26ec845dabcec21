namespace GpuDaemon.Cli;

internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Something failed at run time: a device, a file, a peer.</summary>
    public const int Failure = 1;

    /// <summary>Bad flags, settings or config file.</summary>
    public const int Usage = 2;
}
